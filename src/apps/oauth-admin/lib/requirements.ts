/**
 * The MCP authorization requirements (2025-11-25 `basic/authorization`, and the RFCs it builds on) that can
 * be checked from outside, judged against what `observe.ts` fetched. One function per requirement; each
 * reports pass or fail with what was seen, never a guess: a requirement whose input is missing fails and
 * says which earlier step is missing.
 */
import type { Requirement } from '../schemas.js';
import { isObject, type Observations } from './observe.js';
import type { ProbeResponse } from './probe.js';

const MCP = 'https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization';
const REFERENCES = {
  prmLocation: `${MCP}#authorization-server-location`,
  prmDiscovery: `${MCP}#protected-resource-metadata-discovery-requirements`,
  asDiscovery: `${MCP}#authorization-server-metadata-discovery`,
  pkce: `${MCP}#authorization-code-protection`,
  registration: `${MCP}#client-registration-approaches`,
  communication: `${MCP}#communication-security`,
  prmWellKnown: 'https://www.rfc-editor.org/rfc/rfc9728#section-3.1',
  prmResource: 'https://www.rfc-editor.org/rfc/rfc9728#section-3.3',
  asIssuer: 'https://www.rfc-editor.org/rfc/rfc8414#section-3.3',
  asMetadata: 'https://www.rfc-editor.org/rfc/rfc8414#section-2',
  issParameter: 'https://www.rfc-editor.org/rfc/rfc9207#section-3',
} as const;

/** RFC 8252 §8.3 loopback hosts, where plain http is the norm for local development. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

interface Seen {
  readonly o: Observations;
  readonly prm: Record<string, unknown> | undefined;
  readonly as: { readonly document: Record<string, unknown>; readonly url: string } | undefined;
}

type Verdict = readonly [ok: boolean, detail: string];
type Check = Omit<Requirement, 'status' | 'detail'> & { judge(seen: Seen): Verdict };

const NO_AS = 'no authorization server metadata to check (see as-metadata)';

const CHECKS: readonly Check[] = [
  { id: 'prm-path', level: 'MUST', reference: REFERENCES.prmWellKnown, requirement: 'Protected resource metadata is served at the path-suffixed well-known URL (RFC 9728 §3.1)', judge: ({ o }) => served(o.prm.suffixed) },
  { id: 'prm-root', level: 'SHOULD', reference: REFERENCES.prmDiscovery, requirement: 'Protected resource metadata is also served at the root well-known URL that clients try next', judge: ({ o }) => served(o.prm.root) },
  {
    id: 'prm-resource', level: 'MUST', reference: REFERENCES.prmResource, requirement: 'The metadata `resource` is identical to the MCP server URL',
    judge: ({ o }) => {
      const documents = [o.prm.suffixed, o.prm.root].filter((r) => isObject(r.json));
      if (documents.length === 0) return [false, 'no protected resource metadata was served'];
      const wrong = documents.filter((r) => (r.json as Record<string, unknown>).resource !== o.resource);
      if (wrong.length > 0) return [false, wrong.map((r) => `${r.url} names resource ${JSON.stringify((r.json as Record<string, unknown>).resource)}, expected ${o.resource}`).join('; ')];
      return [true, `every document names ${o.resource}`];
    },
  },
  {
    id: 'prm-authorization-servers', level: 'MUST', reference: REFERENCES.prmLocation, requirement: '`authorization_servers` lists at least one authorization server',
    judge: ({ prm }) => {
      if (!prm) return [false, 'no protected resource metadata was served'];
      const servers = prm.authorization_servers;
      if (!Array.isArray(servers) || servers.length === 0) return [false, '`authorization_servers` is missing or empty'];
      if (!servers.every((s) => typeof s === 'string' && URL.canParse(s))) return [false, '`authorization_servers` holds something that is not a URL'];
      return [true, servers.join(', ')];
    },
  },
  { id: 'www-authenticate', level: 'MUST', reference: REFERENCES.prmDiscovery, requirement: 'An unauthenticated request to the MCP endpoint gets 401 with `WWW-Authenticate: Bearer resource_metadata="…"` naming the metadata', judge: ({ o }) => challenge(o) },
  {
    id: 'well-known-404', level: 'SHOULD', reference: REFERENCES.asDiscovery, requirement: 'A well-known path that does not exist answers 404, not 5xx (clients try the next URL after a 404 but stop at a 5xx)',
    judge: ({ o }) => {
      const wrong = o.missing.filter((r) => r.status !== 404);
      return [wrong.length === 0, (wrong.length === 0 ? o.missing : wrong).map(line).join('; ')];
    },
  },
  {
    id: 'as-metadata', level: 'MUST', reference: REFERENCES.asDiscovery, requirement: 'The authorization server publishes RFC 8414 or OpenID Connect Discovery metadata at a URL clients try',
    judge: ({ o, as }) => {
      if (as) return [true, `found at ${as.url}${o.asMetadata.length > 1 ? ` after ${o.asMetadata.slice(0, -1).map(line).join('; ')}` : ''}`];
      return [false, o.asSkipped ?? `none of the discovery URLs answered with a JSON document: ${o.asMetadata.map(line).join('; ')}`];
    },
  },
  {
    id: 'as-issuer', level: 'MUST', reference: REFERENCES.asIssuer, requirement: 'The metadata `issuer` is identical to the issuer the protected resource metadata names',
    judge: ({ prm, as }) => {
      if (!as || !prm) return [false, NO_AS];
      const named = (prm.authorization_servers as unknown[])[0];
      return as.document.issuer === named ? [true, String(named)] : [false, `the metadata says ${JSON.stringify(as.document.issuer)}, the protected resource metadata ${JSON.stringify(named)}`];
    },
  },
  { id: 'as-response-type-code', level: 'MUST', reference: REFERENCES.asMetadata, requirement: '`response_types_supported` includes `code`', judge: ({ as }) => listIncludes(as, 'response_types_supported', 'code') },
  { id: 'as-pkce-s256', level: 'MUST', reference: REFERENCES.pkce, requirement: '`code_challenge_methods_supported` includes `S256` (clients must refuse to proceed without it)', judge: ({ as }) => listIncludes(as, 'code_challenge_methods_supported', 'S256') },
  {
    id: 'as-endpoints', level: 'MUST', reference: REFERENCES.asMetadata, requirement: '`authorization_endpoint` and `token_endpoint` are present',
    judge: ({ as }) => {
      if (!as) return [false, NO_AS];
      const missing = ['authorization_endpoint', 'token_endpoint'].filter((f) => typeof as.document[f] !== 'string' || !URL.canParse(as.document[f] as string));
      return missing.length === 0 ? [true, `${as.document.authorization_endpoint}, ${as.document.token_endpoint}`] : [false, `missing or not a URL: ${missing.join(', ')}`];
    },
  },
  {
    id: 'as-client-registration', level: 'SHOULD', reference: REFERENCES.registration, requirement: 'Clients can identify themselves without pre-registration: `client_id_metadata_document_supported` or a `registration_endpoint`',
    judge: ({ as }) => {
      if (!as) return [false, NO_AS];
      const ways = [
        ...(as.document.client_id_metadata_document_supported === true ? ['client ID metadata documents'] : []),
        ...(typeof as.document.registration_endpoint === 'string' ? [`dynamic registration at ${as.document.registration_endpoint}`] : []),
      ];
      return ways.length > 0 ? [true, ways.join('; ')] : [false, 'neither is advertised: clients need a pre-registered client id'];
    },
  },
  {
    id: 'as-iss-parameter', level: 'SHOULD', reference: REFERENCES.issParameter, requirement: '`authorization_response_iss_parameter_supported` is true (RFC 9207 mix-up defence)',
    judge: ({ as }) => (!as ? [false, NO_AS] : as.document.authorization_response_iss_parameter_supported === true ? [true, 'true'] : [false, `it is ${JSON.stringify(as.document.authorization_response_iss_parameter_supported ?? null)}`]),
  },
  { id: 'https', level: 'MUST', reference: REFERENCES.communication, requirement: 'The resource and every authorization server endpoint use https (plain http only on loopback, for local development)', judge: (seen) => https(seen) },
];

/**
 * Judges every requirement, in a fixed order: protected resource metadata, the challenge, the 404s, the
 * authorization server metadata, https.
 *
 * @example
 * const requirements = judgeRequirements(await observe({ resource, issuer, fetch, timeoutMs: 5000 }));
 * requirements.filter((r) => r.status === 'fail');
 */
export function judgeRequirements(o: Observations): Requirement[] {
  const prm = [o.prm.suffixed, o.prm.root].map((r) => r.json).find(isObject);
  const answer = o.asMetadata.at(-1);
  const as = answer && answer.status === 200 && isObject(answer.json) ? { document: answer.json, url: answer.url } : undefined;
  const seen: Seen = { o, prm, as };
  return CHECKS.map(({ judge, ...requirement }) => {
    const [ok, detail] = judge(seen);
    return { id: requirement.id, requirement: requirement.requirement, level: requirement.level, status: ok ? 'pass' : 'fail', detail, reference: requirement.reference };
  });
}

function served(response: ProbeResponse): Verdict {
  const ok = response.status === 200 && isObject(response.json);
  return [ok, ok || response.status !== 200 || response.error ? line(response) : `${line(response)}, but not a JSON object`];
}

function listIncludes(as: Seen['as'], field: string, value: string): Verdict {
  if (!as) return [false, NO_AS];
  const list = as.document[field];
  if (!Array.isArray(list)) return [false, `\`${field}\` is absent`];
  return [list.includes(value), `${field}: ${JSON.stringify(list)}`];
}

function challenge(o: Observations): Verdict {
  const r = o.challenge;
  const header = r.headers.get('www-authenticate');
  const seen = `POST ${r.url} → ${r.status === 0 ? (r.error ?? 'no answer') : r.status}`;
  if (r.status !== 401) return [false, seen];
  if (!header) return [false, `${seen} without WWW-Authenticate`];
  const params = bearerParameters(header);
  if (!params) return [false, `${seen} with a challenge that is not Bearer: ${header}`];
  const url = params.get('resource_metadata');
  if (!url) return [false, `${seen}; the challenge has no resource_metadata: ${header}`];
  const target = [o.prm.suffixed, o.prm.root].find((p) => p.url === url);
  if (!target) return [false, `${seen}; resource_metadata names ${url}, which is not one of this server's metadata URLs`];
  const [ok, detail] = served(target);
  if (!ok) return [false, `${seen}; resource_metadata names ${url}, which does not serve the metadata (${detail})`];
  return [true, `${seen}; resource_metadata="${url}"${params.has('scope') ? `, scope="${params.get('scope')}"` : ''}`];
}

/** The auth-params of the Bearer challenge in a `WWW-Authenticate` value (RFC 9110 §11.6.1), or undefined. */
function bearerParameters(header: string): Map<string, string> | undefined {
  const start = header.search(/(^|,\s*)Bearer(\s|$)/i);
  if (start === -1) return undefined;
  const params = new Map<string, string>();
  const rest = header.slice(start).replace(/^,?\s*Bearer\s*/i, '');
  for (const match of rest.matchAll(/([A-Za-z0-9_!#$%&'*+.^`|~-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]+)\s*(,|$)/g)) {
    const name = match[1]!.toLowerCase();
    if (!params.has(name)) params.set(name, match[3] !== undefined ? match[3].replace(/\\(.)/g, '$1') : match[2]!);
  }
  return params;
}

function https({ o, prm, as }: Seen): Verdict {
  const urls = new Map<string, string>([['resource', o.resource]]);
  if (prm && Array.isArray(prm.authorization_servers)) prm.authorization_servers.forEach((s, i) => typeof s === 'string' && urls.set(`authorization_servers[${i}]`, s));
  if (as) {
    for (const [field, value] of Object.entries(as.document)) {
      if (typeof value === 'string' && (field === 'issuer' || field === 'jwks_uri' || field.endsWith('_endpoint'))) urls.set(field, value);
    }
  }
  const insecure = [...urls].filter(([, value]) => !secure(value));
  if (insecure.length > 0) return [false, `not https: ${insecure.map(([field, value]) => `${field} ${value}`).join(', ')}`];
  const loopback = [...urls.values()].some((value) => new URL(value).protocol === 'http:');
  return [true, `${urls.size} URLs${as ? '' : ' (no authorization server metadata)'}: ${loopback ? 'https, or http on loopback (local development)' : 'all https'}`];
}

function secure(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
}

/** `GET https://… → 200` or `GET https://… → no answer (why)`. */
function line(r: ProbeResponse): string {
  return `${r.method} ${r.url} → ${r.status === 0 ? `no answer (${r.error ?? 'unknown'})` : `${r.status}${r.error ? ` (${r.error})` : ''}`}`;
}
