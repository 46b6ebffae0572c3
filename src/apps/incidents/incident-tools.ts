import type { ToolDefinition } from '../../mcp/registry.js';
import type { Store } from '../../stores/types.js';
import { createIncidentInput, createIncidentOutput, incidentLine, listIncidentsInput, listIncidentsOutput, SCOPES } from './schemas.js';

/**
 * `create_incident`: records a new incident, `open`, reported by the caller's token subject.
 *
 * @example
 * registry.tool(createIncidentTool(store, () => new Date()));
 * // tools/call create_incident {"title":"Checkout 500s","description":"Since 09:12","severity":"high","service":"checkout-api"}
 */
export function createIncidentTool(store: Store, now: () => Date): ToolDefinition<typeof createIncidentInput> {
  return {
    name: 'create_incident',
    title: 'Report an incident',
    description: 'Records a new incident (status "open") with you as the reporter. Returns the stored incident with its id.',
    input: createIncidentInput,
    output: createIncidentOutput,
    annotations: { title: 'Report an incident', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    scopes: [SCOPES.write],
    async run(args, ctx) {
      const incident = await store.incidents.create({ ...args, reportedBy: ctx.auth.subject, createdAt: now() });
      return {
        content: [{ type: 'text', text: `Created ${incidentLine(incident)}` }],
        // Parsed through the output schema so structuredContent matches outputSchema exactly, even if the
        // stored record gains fields the schema does not publish.
        structuredContent: createIncidentOutput.parse({ incident }),
      };
    },
  };
}

/**
 * `list_incidents`: incidents newest first, filtered by severity, status and service, at most `limit`
 * (default 20, at most 100); `total` says how many match in all.
 *
 * @example
 * registry.tool(listIncidentsTool(store));
 * // tools/call list_incidents {"severity":"critical","status":"open","limit":5}
 */
export function listIncidentsTool(store: Store): ToolDefinition<typeof listIncidentsInput> {
  return {
    name: 'list_incidents',
    title: 'List incidents',
    description: 'Lists incidents, newest first. Filter by severity, status (open, investigating, resolved, closed) and service; limit 1-100 (default 20).',
    input: listIncidentsInput,
    output: listIncidentsOutput,
    annotations: { title: 'List incidents', readOnlyHint: true, openWorldHint: false },
    scopes: [SCOPES.read],
    async run({ limit, ...filter }) {
      const [incidents, total] = await Promise.all([store.incidents.list({ ...filter, limit }), store.incidents.count(filter)]);
      const heading =
        incidents.length === 0
          ? 'No incidents match.'
          : `${incidents.length === total ? total : `${incidents.length} of ${total}`} incident${total === 1 ? '' : 's'}, newest first:`;
      return {
        content: [{ type: 'text', text: [heading, ...incidents.map((i) => `- ${incidentLine(i)}`)].join('\n') }],
        structuredContent: listIncidentsOutput.parse({ incidents, total }),
      };
    },
  };
}
