/**
 * The OAuth management tools' wire shapes: zod inputs (the JSON Schema of `tools/list`) and outputs
 * (`structuredContent`, checked by clients against `outputSchema`).
 */
import { z } from 'zod';
import { CLIENT_METADATA_LIMITS } from '../../authorization-server/checks/client-metadata.js';

/** Longer than any access token an IdP issues (Entra's run to a few kilobytes), far below anything costly. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** An ISO 8601 UTC time. (Not `z.iso.datetime()`: its JSON Schema carries a 400-character pattern.) */
const isoTime = z.string().describe('ISO 8601 time, UTC');

export const noInput = z.object({});

export const validateTokenInput = z.object({
  token: z
    .string()
    .min(1)
    .max(MAX_TOKEN_LENGTH)
    .describe('The access token to check, with or without a "Bearer " prefix. It is never echoed back or logged.'),
});

export const GRANT_TYPES = ['client_credentials', 'authorization_code', 'refresh_token'] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;

export const registerClientInput = z.object({
  client_name: z.string().trim().min(1).max(CLIENT_METADATA_LIMITS.nameLength).describe('Shown on the consent page and in `clients list`'),
  redirect_uris: z
    .array(z.string().max(CLIENT_METADATA_LIMITS.uriLength))
    .max(CLIENT_METADATA_LIMITS.redirectUris)
    .optional()
    .describe('For authorization_code clients: https, http on loopback, or a private-use scheme; no fragment'),
  grant_types: z
    .array(z.enum(GRANT_TYPES))
    .min(1)
    .max(GRANT_TYPES.length)
    .optional()
    .describe('Default: ["client_credentials"] without redirect_uris, ["authorization_code","refresh_token"] with them'),
  scope: z.string().max(1000).optional().describe("Space-separated; the most the client may get. Default: the resource's scopes without mcp:admin"),
  token_endpoint_auth_method: z.enum(AUTH_METHODS).optional().describe('Default client_secret_basic; none makes a public client without a secret'),
});

export const protectedResourceMetadataOutput = z.looseObject({
  resource: z.string().describe('The protected resource (the MCP URL)'),
  authorization_servers: z.array(z.string()).describe('Issuers whose tokens the resource accepts'),
  scopes_supported: z.array(z.string()).optional(),
  bearer_methods_supported: z.array(z.string()).optional(),
  resource_name: z.string().optional(),
  resource_documentation: z.string().optional(),
});

export const authorizationServerMetadataOutput = z
  .looseObject({ issuer: z.string().describe('The issuer identifier; every other member is as the server publishes it') })
  .describe('RFC 8414 authorization server metadata');

export const validateTokenOutput = z.object({
  active: z.boolean().describe('Whether the server would accept the token at /mcp'),
  subject: z.string().optional(),
  client_id: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  audience: z.array(z.string()).optional(),
  issuer: z.string().optional(),
  expires_at: isoTime.optional(),
  expires_in: z.number().int().optional().describe('Seconds left'),
  reason: z.string().optional().describe('Why the token is refused (inactive tokens only)'),
});

export const configurationOutput = z.object({
  issuer: z.string(),
  resource: z.string(),
  mode: z.enum(['embedded', 'external']).describe('Whether the built-in authorization server issues the tokens'),
  provider: z.string().nullable().describe('Claim format of the external IdP (null when embedded)'),
  token_validation: z.enum(['embedded', 'jwt', 'introspection']),
  audience: z.string(),
  scopes_supported: z.array(z.string()),
  required_scopes: z.array(z.string()),
  challenge_scopes: z.array(z.string()),
  access_token_ttl_seconds: z.number().int().nullable().describe('Embedded AS only'),
  refresh_grace_seconds: z.number().int().nullable().describe('Embedded AS only; 0 = off'),
  store: z.string(),
  private_keys_encrypted: z.boolean().nullable().describe('Embedded AS: whether PORTCULLIS_SECRET encrypts the signing keys at rest'),
});

export const registerClientOutput = z.object({
  client_id: z.string(),
  client_secret: z.string().optional().describe('Shown only now: it is stored hashed'),
  client_secret_expires_at: z.number().int().optional(),
  client_id_issued_at: z.number().int(),
  client_name: z.string(),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  token_endpoint_auth_method: z.enum(AUTH_METHODS),
  scope: z.string().optional(),
  redirect_uris: z.array(z.string()),
  token_endpoint: z.string(),
});

export const requirementSchema = z.object({
  id: z.string(),
  requirement: z.string(),
  level: z.enum(['MUST', 'SHOULD']).describe('How the cited specification words it'),
  status: z.enum(['pass', 'fail']),
  detail: z.string(),
  reference: z.string().describe('The specification section'),
});

export const complianceOutput = z.object({
  resource: z.string(),
  issuer: z.string(),
  requirements: z.array(requirementSchema),
  summary: z.object({ total: z.number().int(), passed: z.number().int(), failed: z.number().int() }),
});

export type Requirement = z.infer<typeof requirementSchema>;
