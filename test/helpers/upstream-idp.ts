/**
 * A real OpenID Provider nobody here wrote (`oidc-provider` v9) on a loopback port in the test process, as
 * federated login's upstream: dynamic registration OFF, one pre-registered confidential client whose only
 * redirect URI is portcullis's `/oauth/upstream/callback`, PKCE required, refresh tokens issued and rotated
 * on every use, short access-token lifetimes, and its development login and consent pages (driven over HTTP
 * by `FederatedUserAgent`). Its storage is a Map the test can read: every token and code it issued is
 * recorded (to prove none reaches portcullis's store or logs in clear), and a user's grants can be revoked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

export interface UpstreamIdp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every access token, refresh token and authorization code the provider issued (their raw values). */
  readonly issued: Set<string>;
  /** How many refresh_token grants the provider answered with tokens. */
  refreshes(): number;
  /** Revokes every grant of an account (as an administrator revoking a user's sessions would): its tokens stop working. */
  revokeGrantsOf(accountId: string): number;
  /** Stops answering (connections refused), to play an upstream that is down. */
  stop(): Promise<void>;
}

export interface UpstreamIdpOptions {
  /** Portcullis's callback: the client's one redirect URI. */
  redirectUri: string;
  /** Accounts that may sign in (the dev login page takes the account id; any password). */
  accounts: readonly string[];
  /** Access-token lifetime in seconds (default 2: refreshes reach the upstream). */
  accessTokenTtl?: number;
}

interface Entry {
  payload: Record<string, unknown>;
  expiresAt: number | undefined;
}

const TOKEN_MODELS = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode']);

/** Starts the provider on 127.0.0.1 (any free port). */
export async function startUpstreamIdp(options: UpstreamIdpOptions): Promise<UpstreamIdp> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'portcullis-gateway';
  const clientSecret = randomBytes(32).toString('base64url');
  const storage = new Map<string, Entry>();
  const issued = new Set<string>();
  const accounts = new Set(options.accounts);
  let refreshes = 0;

  /** oidc-provider's adapter interface over one Map (expiry checked on read). */
  class MapAdapter {
    constructor(readonly model: string) {}
    #key(id: string): string {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
      if (TOKEN_MODELS.has(this.model)) issued.add(id);
      storage.set(this.#key(id), { payload, expiresAt: expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000 });
    }
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      const entry = storage.get(this.#key(id));
      if (!entry || (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())) return undefined;
      return entry.payload;
    }
    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      for (const [key, entry] of storage) if (key.startsWith(`${this.model}:`) && entry.payload.uid === uid) return entry.payload;
      return undefined;
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async consume(id: string): Promise<void> {
      const entry = storage.get(this.#key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      storage.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, entry] of storage) if (entry.payload.grantId === grantId) storage.delete(key);
    }
  }

  const provider = new Provider(issuer, {
    adapter: MapAdapter,
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: { devInteractions: { enabled: true }, registration: { enabled: false }, revocation: { enabled: true } },
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    findAccount: async (_ctx: unknown, accountId: string) => {
      if (!accounts.has(accountId)) return undefined;
      return { accountId, claims: async () => ({ sub: accountId, email: `${accountId}@upstream.example`, name: accountId }) };
    },
    ttl: { AccessToken: options.accessTokenTtl ?? 2, RefreshToken: 3600, IdToken: 600, Grant: 3600, Session: 3600, Interaction: 600, AuthorizationCode: 60 },
    issueRefreshToken: async () => true,
    rotateRefreshToken: true,
    cookies: { keys: [randomBytes(16).toString('hex')] },
  });
  provider.on('grant.success', (ctx: { oidc: { params: { grant_type?: string } } }) => {
    if (ctx.oidc.params.grant_type === 'refresh_token') refreshes++;
  });
  server.on('request', provider.callback());

  return {
    issuer,
    clientId,
    clientSecret,
    issued,
    refreshes: () => refreshes,
    revokeGrantsOf(accountId) {
      const grants = [...storage].filter(([key, entry]) => key.startsWith('Grant:') && entry.payload.accountId === accountId).map(([key]) => key.slice('Grant:'.length));
      for (const grantId of grants) {
        storage.delete(`Grant:${grantId}`);
        for (const [key, entry] of storage) if (entry.payload.grantId === grantId) storage.delete(key);
      }
      return grants.length;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
