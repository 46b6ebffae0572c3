/**
 * The authorization server's records (issue 3), one small interface per kind, with the atomic operations
 * where races matter: a code is consumed once, a refresh token rotates once, a signing key is created once.
 * Secrets and tokens are never stored: codes and refresh tokens by SHA-256 (base64url), client secrets and
 * passwords by their password hash. Times are epoch seconds unless a name says otherwise (integers; a
 * millisecond value is refused). Input that breaks a field rule rejects with `StoreError('invalid_record')`
 * and stores nothing; records handed out are frozen. Schema, rules and guarantees: docs/storage-schema.md.
 */

/** A person who can log in to the embedded authorization server. */
export interface UserRecord {
  readonly id: string;
  /** Unique, case-sensitive, 1..64 characters of `[A-Za-z0-9._@-]`. */
  readonly username: string;
  /** The password hash in its self-describing format (`scrypt$N$r$p$salt$hash`). */
  readonly passwordHash: string;
  /** Scopes this user may grant to clients (their own permissions cap every consent). */
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface UserStore {
  /** Rejects with `StoreError('conflict')` when the username is taken. */
  create(input: { username: string; passwordHash: string; scopes: readonly string[] }): Promise<UserRecord>;
  get(id: string): Promise<UserRecord | undefined>;
  getByUsername(username: string): Promise<UserRecord | undefined>;
  /** Every user, by username. */
  list(): Promise<UserRecord[]>;
  /** Changes the given fields; undefined when there is no such user. */
  update(username: string, changes: { passwordHash?: string; scopes?: readonly string[] }): Promise<UserRecord | undefined>;
  /** Removes the user and everything granted on their behalf (grants, refresh tokens, consents). */
  remove(username: string): Promise<boolean>;
  count(): Promise<number>;
}

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

/** An OAuth client: registered dynamically (RFC 7591), by an admin, or known by its metadata document. */
export interface ClientRecord {
  readonly clientId: string;
  /** Password hash of the client secret; absent for public clients. */
  readonly secretHash?: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly string[];
  readonly responseTypes: readonly string[];
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** The `scope` the client registered with (informative for public clients: consent is the limit). */
  readonly scope?: string;
  readonly origin: 'dynamic' | 'admin';
  /** The registration metadata as accepted (client_uri, logo_uri, …), returned by the registration endpoint. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
}

export interface ClientStore {
  /** Rejects with `StoreError('conflict')` when the client id exists. */
  create(client: ClientRecord): Promise<ClientRecord>;
  get(clientId: string): Promise<ClientRecord | undefined>;
  /** Every stored client, oldest first. */
  list(): Promise<ClientRecord[]>;
  /** Removes the client and its grants, refresh tokens and consents. */
  remove(clientId: string): Promise<boolean>;
}

/** An authorization code, stored by hash, bound to everything the token request must repeat. */
export interface AuthorizationCodeRecord {
  readonly hash: string;
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  /** PKCE S256 challenge. */
  readonly codeChallenge: string;
  readonly scopes: readonly string[];
  readonly resource: string;
  readonly expiresAt: number;
}

export type ConsumedCode =
  /** First use: the caller issues tokens and then calls `linkGrant`. */
  | { readonly firstUse: true; readonly code: AuthorizationCodeRecord }
  /** A replay: the caller revokes `grantId` (what the first use issued), if any, and refuses. */
  | { readonly firstUse: false; readonly code: AuthorizationCodeRecord; readonly grantId: string | undefined };

export interface CodeStore {
  put(code: AuthorizationCodeRecord): Promise<void>;
  /**
   * Atomically marks the code used and returns it. Unknown or expired (at `now`) → undefined. A code already
   * used → `firstUse: false` with the grant its first use issued. Used codes are kept until they expire.
   */
  consume(hash: string, now: number): Promise<ConsumedCode | undefined>;
  /** Records the grant the first use of a code issued, so that a replay can revoke it. A code gone (expired and swept): nothing happens. */
  linkGrant(hash: string, grantId: string): Promise<void>;
}

/** A grant: one refresh-token family, created by a code exchange, ended by revocation or expiry. */
export interface GrantRecord {
  readonly id: string;
  readonly clientId: string;
  readonly userId: string;
  readonly scopes: readonly string[];
  readonly resource: string;
  readonly createdAt: number;
  /** The family's absolute end; rotation never extends it. */
  readonly expiresAt: number;
  readonly revoked: boolean;
}

export type RotationResult =
  /** The presented token was the family's current one: it now points at `successorHash`. */
  | { readonly kind: 'rotated'; readonly grant: GrantRecord }
  /** Presented again within the grace period by its own client: answer with the same successor (its hash is `successorHash`). */
  | { readonly kind: 'grace'; readonly grant: GrantRecord; readonly successorHash: string }
  /** Presented again after the grace period: the whole family has been revoked. */
  | { readonly kind: 'reuse'; readonly grant: GrantRecord };

export interface GrantStore {
  /** Creates the grant with its first refresh token. */
  create(grant: Omit<GrantRecord, 'revoked'>, refreshHash: string): Promise<GrantRecord>;
  /** The grant whatever its state (`revoked` tells), until the store sweeps it after `expiresAt`. */
  get(id: string): Promise<GrantRecord | undefined>;
  /**
   * Atomically rotates a refresh token (exactly once, whatever the concurrency): when `presentedHash` is the
   * family's current token, it is retired and `successorHash` becomes current (`rotated`); when it is the
   * token rotated last, within `graceSeconds` of that rotation, and `clientId` is the grant's client
   * (`grace`), nothing changes; otherwise a retired token of a live family revokes the family (`reuse`).
   * Unknown token, revoked or expired family, or another client → undefined.
   *
   * "Rotated last" = retired, and its successor is still the family's current token (the successor has not
   * been used). Grace is `[rotatedAt, rotatedAt + graceSeconds)`, so `graceSeconds: 0` turns it off. In
   * `grace`, the stored `successorHash` is returned: the caller re-derives the successor token and must
   * refuse if its hash differs (the server key changed). A `successorHash` already stored → `conflict`.
   * The state machine: docs/storage-schema.md.
   */
  rotate(presentedHash: string, successorHash: string, options: { clientId: string; now: number; graceSeconds: number }): Promise<RotationResult | undefined>;
  /**
   * The live grant a refresh token (current or retired) belongs to, for revocation and introspection.
   * Live at `now` (default: the store's clock): not revoked, not expired.
   */
  findByRefreshHash(hash: string, now?: number): Promise<GrantRecord | undefined>;
  /** Whether `hash` is the current refresh token of a live grant. */
  isCurrent(hash: string, now: number): Promise<boolean>;
  /** Revokes the family: every token of it is refused from now on. Unknown id or already revoked: nothing happens. */
  revoke(id: string): Promise<void>;
  /** Live grants (at `now`, default the store's clock), newest first, optionally of one user or client (for the console). */
  list(filter?: { userId?: string; clientId?: string; now?: number }): Promise<GrantRecord[]>;
}

/** What a user approved for a client, remembered so the consent page is not shown again. */
export interface ConsentStore {
  get(userId: string, clientId: string): Promise<readonly string[] | undefined>;
  /** Replaces the remembered scopes. */
  put(userId: string, clientId: string, scopes: readonly string[]): Promise<void>;
  remove(userId: string, clientId: string): Promise<void>;
}

/** A signing key. The private half is a JWK, encrypted at rest when a server secret is configured. */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: 'ES256';
  readonly publicJwk: Readonly<Record<string, unknown>>;
  /** `plain:<JWK JSON>` or `aes256gcm:<iv>.<ciphertext>.<tag>` (base64url), see authorization-server/keys. */
  readonly privateJwk: string;
  readonly createdAt: number;
  /** From this time it signs (a rotated-in key is published first and signs later). */
  readonly activatesAt: number;
  /** Past this time it is no longer published (set when a newer key takes over: its tokens have expired). */
  readonly retiresAt?: number;
}

export interface KeyStore {
  /** All keys not retired at `now`, oldest first. */
  list(now: number): Promise<SigningKeyRecord[]>;
  /** Adds a key unless the store already holds a key not retired at `now`; returns the keys then held. Atomic. */
  createIfNone(key: SigningKeyRecord, now: number): Promise<SigningKeyRecord[]>;
  add(key: SigningKeyRecord): Promise<void>;
  /** Sets when a key stops being published. Unknown kid: nothing happens. */
  retire(kid: string, retiresAt: number): Promise<void>;
  /**
   * The server key used when no `PORTCULLIS_SECRET` is configured: stores `candidate` (base64url, 32 bytes)
   * unless one is stored already, and returns the stored one. Atomic, so all instances agree.
   */
  serverSecret(candidate: string): Promise<string>;
}

/** Counters for rate limits (registration per address, failed logins per user and address). */
export interface RateLimitStore {
  /**
   * Counts one hit on `key` in the fixed window of `windowSeconds` that contains `now` (windows start at
   * multiples of `windowSeconds` since the epoch); returns the count so far. Atomic across processes. Each
   * window length of a key counts separately (a key may be limited per minute and per hour).
   */
  hit(key: string, windowSeconds: number, now: number): Promise<number>;
  /** Forgets every window of `key` (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

/** Client ID metadata documents fetched earlier, kept as their HTTP caching headers allow. */
export interface CimdCacheStore {
  get(url: string, now: number): Promise<Readonly<Record<string, unknown>> | undefined>;
  put(url: string, document: Readonly<Record<string, unknown>>, expiresAt: number): Promise<void>;
}

/**
 * What federated login keeps of a user's upstream sign-in for one MCP client (docs/authorization-server.md,
 * "Federated login"): one record per (local user, MCP client), replaced by every new upstream login of that
 * user for that client, shared by every grant (refresh-token family) of the pair. The upstream tokens are
 * never stored in clear: `sealedTokens` is an AES-256-GCM envelope the authorization server makes and opens;
 * the store refuses any other format.
 */
export interface UpstreamGrantRecord {
  /** The local user the upstream identity maps to (our tokens' `sub`). */
  readonly userId: string;
  /** The MCP client the user authorized (our client id). */
  readonly clientId: string;
  /** The upstream issuer, exactly as configured. */
  readonly issuer: string;
  /** The upstream `sub`. */
  readonly subject: string;
  /** `aes256gcm:<iv>.<ciphertext>.<tag>` (base64url each): the upstream tokens kept, encrypted. */
  readonly sealedTokens: string;
  /** When the upstream access token expires: past it, the next refresh of our token refreshes upstream first. */
  readonly accessExpiresAt: number;
  /** An upstream refresh is under way until then (a lease, so one process refreshes and the others wait); absent: none. */
  readonly refreshingUntil?: number;
  /** 1 when first stored; every write adds 1 (compare-and-swap for {@link UpstreamGrantStore.update}). */
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** From this time the record is gone (refused by reads, then swept). */
  readonly expiresAt: number;
}

/** What {@link UpstreamGrantStore.put} takes: the store sets `version` and `updatedAt` (= `createdAt`). */
export type NewUpstreamGrant = Omit<UpstreamGrantRecord, 'version' | 'updatedAt' | 'refreshingUntil'>;

/** What {@link UpstreamGrantStore.update} may change; `refreshingUntil: null` ends the lease. */
export interface UpstreamGrantChanges {
  readonly sealedTokens?: string;
  readonly accessExpiresAt?: number;
  readonly refreshingUntil?: number | null;
}

export interface UpstreamGrantStore {
  /**
   * Stores the record of (`userId`, `clientId`), replacing any (live or not): `version` is the replaced
   * record's plus 1, or 1. Returns the record as stored.
   */
  put(record: NewUpstreamGrant): Promise<UpstreamGrantRecord>;
  /** The record when it exists and is live at `now` (`expiresAt > now`). */
  get(userId: string, clientId: string, now: number): Promise<UpstreamGrantRecord | undefined>;
  /**
   * Atomically, when the stored record is live at `now` and its version is `version`: applies `changes`,
   * sets `updatedAt = now`, adds 1 to the version and returns the record as now stored. Otherwise (gone,
   * expired, or changed since the caller read it) changes nothing and returns undefined.
   */
  update(userId: string, clientId: string, version: number, changes: UpstreamGrantChanges, now: number): Promise<UpstreamGrantRecord | undefined>;
  /** Removes the record; true when there was one. */
  remove(userId: string, clientId: string): Promise<boolean>;
}

/** Everything the embedded authorization server keeps. */
export interface AuthorizationStores {
  readonly users: UserStore;
  readonly clients: ClientStore;
  readonly codes: CodeStore;
  readonly grants: GrantStore;
  readonly consents: ConsentStore;
  readonly keys: KeyStore;
  readonly rateLimits: RateLimitStore;
  readonly cimdCache: CimdCacheStore;
  /** Federated login: the upstream sign-in behind a user's grants for one client (removed with the user or client). */
  readonly upstreamGrants: UpstreamGrantStore;
}
