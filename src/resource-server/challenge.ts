import type { OAuthError } from '../core/errors.js';

export interface ChallengeParameters {
  /** RFC 9728 §5.1: where the client finds the protected resource metadata. */
  resourceMetadata: string;
  error?: string;
  description?: string;
  scopes?: readonly string[];
}

/**
 * Builds a `WWW-Authenticate: Bearer …` value (RFC 6750 §3, RFC 9728 §5.1). Parameter values are quoted
 * strings; quotes and backslashes are escaped (RFC 9110 §5.6.4), and they only ever hold our own text.
 *
 * @example
 * challenge({ resourceMetadata: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp', scopes: ['incidents:read'] })
 * // 'Bearer resource_metadata="https://…", scope="incidents:read"'
 */
export function challenge(parameters: ChallengeParameters): string {
  const parts = [`resource_metadata=${quote(parameters.resourceMetadata)}`];
  if (parameters.error) parts.push(`error=${quote(parameters.error)}`);
  if (parameters.description) parts.push(`error_description=${quote(parameters.description)}`);
  if (parameters.scopes && parameters.scopes.length > 0) parts.push(`scope=${quote(parameters.scopes.join(' '))}`);
  return `Bearer ${parts.join(', ')}`;
}

/** The challenge for an error raised while authenticating or authorizing a request. */
export function challengeFor(error: OAuthError, resourceMetadata: string, defaultScopes: readonly string[]): string {
  if (error.bare) return challenge({ resourceMetadata, scopes: error.scopes ?? defaultScopes });
  return challenge({ resourceMetadata, error: error.code, description: error.description, scopes: error.scopes });
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
