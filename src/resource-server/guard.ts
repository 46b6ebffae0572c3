import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo, TokenVerifier } from '../core/auth.js';
import { OAuthError, insufficientScope } from '../core/errors.js';
import type { RequestLog } from '../core/log.js';
import { authorizationHeader, bearerTokenOf } from './bearer.js';
import { challengeFor } from './challenge.js';
import { ConnectionMemo } from './lib/connection-memo.js';

export interface GuardOptions {
  /**
   * Verifies tokens. When it can also tell whether a verdict it gave still stands (`cachedVerifier` can),
   * the guard remembers the last verified header of each connection and skips verifying it again
   * while that holds (see `ConnectionMemo` for why that is safe).
   */
  verifier: TokenVerifier & { isCurrent?(auth: AuthInfo): boolean };
  /** URL of this resource's RFC 9728 metadata, named in every challenge. */
  resourceMetadataUrl: string;
  /** Scopes every request needs (`--required-scopes`). */
  requiredScopes?: readonly string[];
  /** Scopes a bare 401 challenge suggests: the basic set a client should ask for first. */
  challengeScopes?: readonly string[];
  /** Every scope this resource understands: a step-up challenge keeps those the token already has. */
  knownScopes?: readonly string[];
}

/**
 * The resource server's gate (RFC 6750): finds the bearer token, verifies it, checks the scopes every
 * request needs, and renders refusals as challenges. Nothing past it reads the `Authorization` header.
 *
 * @example
 * const guard = new Guard({ verifier, resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp' });
 * try { const auth = await guard.authenticate(req, log); … } catch (e) { if (e instanceof OAuthError) guard.refuse(res, e, log); }
 */
export class Guard {
  readonly #verifier: TokenVerifier;
  readonly #metadataUrl: string;
  readonly #required: readonly string[];
  readonly #challengeScopes: readonly string[];
  readonly #known: ReadonlySet<string>;
  readonly #memo: ConnectionMemo | undefined;

  constructor(options: GuardOptions) {
    const verifier = options.verifier;
    this.#verifier = verifier;
    this.#memo = verifier.isCurrent ? new ConnectionMemo((auth) => verifier.isCurrent!(auth)) : undefined;
    this.#metadataUrl = options.resourceMetadataUrl;
    this.#required = options.requiredScopes ?? [];
    this.#challengeScopes = union(this.#required, options.challengeScopes ?? []);
    this.#known = new Set([...(options.knownScopes ?? []), ...this.#required]);
  }

  /** The verified caller, or an OAuthError: 401 (no or bad token), 400 (malformed), 403 (required scope), 503. */
  async authenticate(req: IncomingMessage, log: RequestLog): Promise<AuthInfo> {
    const header = authorizationHeader(req);
    const connection = req.socket;
    let auth = header !== undefined ? this.#memo?.recall(connection, header) : undefined;
    if (auth === undefined) {
      const token = bearerTokenOf(header);
      if (token === undefined) {
        throw new OAuthError('invalid_token', 401, 'This resource needs an access token: send "Authorization: Bearer <token>"', {
          bare: true,
          scopes: this.#challengeScopes,
        });
      }
      auth = await this.#verifier.verify(token);
      this.#memo?.remember(connection, header!, auth);
    }
    log.subject = auth.subject;
    log.client = auth.clientId;
    for (const scope of this.#required) if (!auth.scopes.includes(scope)) throw this.stepUp(auth, []);
    return auth;
  }

  /**
   * The 403 for a request that needs `scopes` the token lacks. Its `scope` lists everything the request
   * needs plus the scopes of this resource the token already holds, so that a client re-authorizing with
   * exactly that list loses nothing (MCP 2025-11-25, Scope Challenge Handling, "recommended approach").
   */
  stepUp(auth: AuthInfo, scopes: readonly string[]): OAuthError {
    const held = auth.scopes.filter((scope) => this.#known.has(scope));
    return insufficientScope(union(this.#required, scopes, held));
  }

  /** Writes an OAuth refusal with its challenge (RFC 6750 §3) and `Cache-Control: no-store`. */
  refuse(res: ServerResponse, error: OAuthError, log: RequestLog): void {
    log.decision = error.bare ? 'no_token' : error.code;
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (error.status === 503) headers['retry-after'] = '5';
    else headers['www-authenticate'] = challengeFor(error, this.#metadataUrl, this.#challengeScopes);
    const body = JSON.stringify(error.toJSON());
    res.writeHead(error.status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

function union(...lists: (readonly string[])[]): string[] {
  return [...new Set(lists.flat())];
}
