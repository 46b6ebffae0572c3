import type { ResourceDefinition, ResourceTemplateDefinition } from '../../mcp/registry.js';
import type { Store } from '../../stores/types.js';
import { SCOPES } from './schemas.js';

const JSON_TYPE = 'application/json';
/** How many recent incidents the template lists in `resources/list`, and completion returns at most (MCP caps at 100). */
const RECENT = 20;
const COMPLETIONS = 100;

/**
 * `incidents://all`: every incident, newest first, as a JSON array.
 *
 * @example
 * registry.resource(allIncidentsResource(store)); // resources/read {"uri":"incidents://all"}
 */
export function allIncidentsResource(store: Store): ResourceDefinition {
  return {
    uri: 'incidents://all',
    name: 'all-incidents',
    title: 'All incidents',
    description: 'Every incident, newest first, as a JSON array.',
    mimeType: JSON_TYPE,
    scopes: [SCOPES.read],
    async read() {
      const incidents = await store.incidents.list();
      return [{ uri: 'incidents://all', mimeType: JSON_TYPE, text: JSON.stringify(incidents, null, 2) }];
    },
  };
}

/**
 * `incidents://{id}`: one incident as a JSON object. An unknown id reads as undefined, which the core
 * answers with "resource not found". Lists the most recent incidents and completes ids by prefix
 * (case-insensitive: ids are upper-case Crockford base32).
 *
 * @example
 * registry.resourceTemplate(incidentTemplate(store)); // resources/read {"uri":"incidents://INC-1KCXMZ4G7T2VB"}
 */
export function incidentTemplate(store: Store): ResourceTemplateDefinition {
  return {
    uriTemplate: 'incidents://{id}',
    name: 'incident',
    title: 'Incident',
    description: 'One incident by id, as a JSON object.',
    mimeType: JSON_TYPE,
    scopes: [SCOPES.read],
    complete: {
      async id(value) {
        const matching = await store.incidents.list({ idPrefix: value.trim().toUpperCase(), limit: COMPLETIONS });
        return matching.map((incident) => incident.id);
      },
    },
    async list() {
      const recent = await store.incidents.list({ limit: RECENT });
      return recent.map((incident) => ({
        uri: `incidents://${incident.id}`,
        name: incident.id,
        title: incident.title,
        description: `${incident.severity} · ${incident.status} · ${incident.service}`,
        mimeType: JSON_TYPE,
      }));
    },
    async read(uri, { id }) {
      const incident = id === undefined ? undefined : await store.incidents.get(id);
      if (incident === undefined) return undefined;
      return [{ uri, mimeType: JSON_TYPE, text: JSON.stringify(incident, null, 2) }];
    },
  };
}
