import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CryptoKey } from 'jose';
import type { Logger } from '../core/log.js';
import type { AuthorizationStores, SigningKeyRecord } from '../stores/auth-types.js';
import type { Federation } from './upstream/federation.js';

/**
 * The signing keys in use (see keys.ts): the one that signs now, and every key to publish in the JWKS
 * (the signer, a rotated-in key not yet signing, and retiring keys until their tokens expire).
 */
export interface KeyRing {
  /** Signs a JWT with the active key; the header carries its `kid` and `alg`. */
  sign(payload: Record<string, unknown>, header: { typ: string }): Promise<string>;
  /** The public JWKS document (`{ keys: [...] }`), never a private member. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
  /** Public key for a `kid`, for verifying our own tokens without HTTP. */
  publicKey(kid: string): Promise<CryptoKey | undefined>;
  /** Reloads from the store (another process may have rotated). */
  refresh(): Promise<void>;
  /** The records, for `keys list`. */
  records(): Promise<SigningKeyRecord[]>;
}

/**
 * Everything the embedded authorization server's endpoints share. Built once at start-up from the
 * validated configuration; endpoints read it and never reach for globals.
 */
export interface AuthorizationServerContext {
  /** `PUBLIC_URL`, without a trailing slash: the `iss` of every token and metadata document. */
  readonly issuer: string;
  /** The one resource this server issues tokens for (`PUBLIC_URL/mcp`); RFC 8707 `resource` must be it. */
  readonly resource: string;
  /** Every scope the resource understands; the default `scope` of an authorization request. */
  readonly scopes: readonly string[];
  readonly stores: AuthorizationStores;
  readonly keys: KeyRing;
  /** Access-token lifetime in seconds (default 3600). */
  readonly accessTokenTtl: number;
  /** Absolute lifetime of a refresh-token family in seconds (default 30 days). */
  readonly refreshTokenTtl: number;
  /** `--refresh-grace-seconds` (default 30; 0 = off). */
  readonly refreshGraceSeconds: number;
  /** Authorization-code lifetime in seconds (default 60). */
  readonly codeTtl: number;
  /** Derives a rotated refresh token's successor from it (HMAC with a server key), so a grace-period replay gets the same successor without storing it. */
  successorOf(refreshToken: string): string;
  /** Cookies get `Secure` (and the `__Host-` prefix) when the public URL is https. */
  readonly secureCookies: boolean;
  /** Dynamic registrations allowed per client address per minute (default 30). */
  readonly registrationPerMinute: number;
  /** Client ID metadata documents: hosts allowed despite the SSRF rules (tests' loopback), and the fetch to use. */
  readonly cimd: { readonly allowedHosts: readonly string[]; readonly fetch: typeof fetch; readonly timeoutMs: number; readonly maxBytes: number };
  /** Federated login: people sign in at this upstream identity provider instead of our password page. Absent: off. */
  readonly federation?: Federation;
  /** The clock, epoch seconds. */
  now(): number;
  readonly logger: Logger;
}

/** One endpoint: answers the request completely or throws an OAuthError/HttpError for the HTTP layer to render. */
export type Endpoint = (ctx: AuthorizationServerContext, req: IncomingMessage, res: ServerResponse) => Promise<void>;
