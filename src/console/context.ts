/**
 * What the console's handlers share, and the one error type they throw.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizationServerContext } from '../authorization-server/context.js';
import type { Sealer } from '../authorization-server/authorize/seal.js';
import type { TokenVerifier } from '../core/auth.js';
import type { Logger } from '../core/log.js';
import type { ClientRecord } from '../stores/auth-types.js';
import type { LoopbackMcp } from './mcp.js';
import type { ConsoleSessions } from './sessions.js';

/** What the status page shows of the backend (the gateway's `Backend` satisfies it). */
export interface BackendStatus {
  /** Its URL or command line: shown to administrators only. */
  readonly location: string;
  ready(): Promise<boolean>;
}

/** A gateway session as the administrators' page lists it; times in ms. */
export interface SessionInfo {
  readonly id: string;
  readonly subject: string;
  readonly clientId: string;
  readonly createdAt: number;
  readonly lastSeen: number;
}

/** What the console may do with the gateway's MCP sessions (the `Gateway` satisfies it). */
export interface SessionAdmin {
  listSessions(): readonly SessionInfo[];
  /** Ends a session here and on the backend; false when there is none. */
  endSession(id: string): boolean;
}

/** Built once by `createConsole`; handlers read it and reach for nothing else. */
export interface ConsoleContext {
  /** The embedded authorization server the console logs in with (its store, clock, issuer, logger). */
  readonly as: AuthorizationServerContext;
  /** Verifies the access tokens the console receives (to learn their subject, scopes and expiry). */
  readonly verifier: TokenVerifier;
  /** The path of `PUBLIC_URL` (`''` at the root): every console path starts with it. */
  readonly base: string;
  /** `PUBLIC_URL`'s origin: the only `Origin` a console form may be posted from. */
  readonly origin: string;
  /** `PUBLIC_URL/mcp`. */
  readonly resource: string;
  /** The console's own OAuth client, registered at start-up. */
  readonly client: ClientRecord;
  /** `PUBLIC_URL/oauth/callback`. */
  readonly redirectUri: string;
  /** Seals the login transaction the browser carries from `/oauth/login` to `/oauth/callback`. */
  readonly sealer: Sealer;
  readonly sessions: ConsoleSessions;
  readonly mcp: LoopbackMcp;
  readonly backend: BackendStatus;
  readonly gateway: SessionAdmin;
  readonly logger: Logger;
}

/** One page handler: answers completely, or throws a {@link ConsoleError}. */
export type Handler = (ctx: ConsoleContext, req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * A refusal the console renders as an HTML page: its status, a heading, a sentence for the person at the
 * browser (never request input), and, for the log only, the detailed reason.
 *
 * @example
 * throw new ConsoleError(403, 'Administrators only', 'This page needs the mcp:admin scope.', { detail: `user ${id}` });
 */
export class ConsoleError extends Error {
  override readonly name = 'ConsoleError';
  readonly detail: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Offer a link to log in (the page needs a session). */
  readonly login: boolean;
  /** `Set-Cookie` values to send with the page (a login cookie to clear). */
  readonly cookies: readonly string[];

  constructor(
    readonly status: number,
    readonly title: string,
    readonly userMessage: string,
    options: { detail?: string; headers?: Readonly<Record<string, string>>; login?: boolean; cookies?: readonly string[] } = {},
  ) {
    super(userMessage);
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.login = options.login ?? false;
    this.cookies = options.cookies ?? [];
  }
}
