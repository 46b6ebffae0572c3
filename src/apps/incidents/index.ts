/**
 * The incident tracker: the first app Portcullis serves (ARCHITECTURE §5). Everything it keeps lives in
 * the store, so it survives restarts and is shared by every process on the same store.
 */
import type { Registry } from '../../mcp/registry.js';
import type { Store } from '../../stores/types.js';
import { createIncidentTool, listIncidentsTool } from './incident-tools.js';
import { allIncidentsResource, incidentTemplate } from './resources.js';
import { triagePrompt } from './triage-prompt.js';
import { addTool, currentTimeTool, userInfoTool } from './utility-tools.js';

export { seedIncidents, SAMPLE_COUNT } from './seed.js';
export { SCOPES as INCIDENT_SCOPES } from './schemas.js';

export interface IncidentsOptions {
  /** The clock for new incidents, `get_current_time` and token expiry (tests pass a fixed one). */
  now?: () => Date;
}

/**
 * Registers the tracker's tools (`create_incident` needs `incidents:write`; `list_incidents`, the
 * resources and the prompt need `incidents:read`; `get_user_info`, `get_current_time` and `add` need only
 * a valid token), the resources `incidents://all` and `incidents://{id}`, and the prompt
 * `triage_incidents`.
 *
 * @example
 * const store = await openStore('sqlite:./data/portcullis.db', { logger });
 * await seedIncidents(store);
 * const registry = new Registry();
 * registerIncidents(registry, store);
 */
export function registerIncidents(registry: Registry, store: Store, options: IncidentsOptions = {}): void {
  const now = options.now ?? (() => new Date());
  registry
    .tool(createIncidentTool(store, now))
    .tool(listIncidentsTool(store))
    .tool(userInfoTool(now))
    .tool(currentTimeTool(now))
    .tool(addTool())
    .resource(allIncidentsResource(store))
    .resourceTemplate(incidentTemplate(store))
    .prompt(triagePrompt(store));
}
