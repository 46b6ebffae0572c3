/**
 * A local authorization server stand-in on 127.0.0.1: one ES256 key, its JWKS, and the two discovery
 * documents (`/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`) that point
 * at it. It signs the benchmark's access tokens (RFC 9068 `at+jwt`) for whichever audience a server
 * enforces. It runs in the orchestrator: servers fetch the JWKS once and cache it, so it is idle while
 * load runs (`jwksFetches` lets the report show that).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface TokenRequest {
  /** The `aud` claim: the resource URL the server enforces. */
  audience: string;
  scope?: string;
  subject?: string;
  clientId?: string;
  ttlSeconds?: number;
}

export interface Issuer {
  /** The `iss` value, also the base of the discovery documents. */
  url: string;
  jwksUri: string;
  /** How many times the JWKS was fetched (each server should fetch it about once). */
  readonly jwksFetches: number;
  sign(request: TokenRequest): Promise<string>;
  close(): Promise<void>;
}

/**
 * @example
 * const issuer = await startIssuer();
 * const token = await issuer.sign({ audience: 'http://127.0.0.1:9001/mcp' });
 */
export async function startIssuer(): Promise<Issuer> {
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  let jwksFetches = 0;
  let discovery = '';

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let body: string | undefined;
    if (path === '/jwks') {
      jwksFetches += 1;
      body = jwks;
    } else if (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server') {
      body = discovery;
    }
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwksUri = `${url}/jwks`;
  discovery = JSON.stringify({
    issuer: url,
    jwks_uri: jwksUri,
    authorization_endpoint: `${url}/authorize`,
    token_endpoint: `${url}/token`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
    code_challenge_methods_supported: ['S256'],
  });

  return {
    url,
    jwksUri,
    get jwksFetches() {
      return jwksFetches;
    },
    async sign({ audience, scope = 'incidents:read incidents:write', subject = 'bench-user', clientId = 'bench-client', ttlSeconds = 3600 }) {
      return new SignJWT({ scope, client_id: clientId })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .setIssuer(url)
        .setAudience(audience)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .setJti(randomUUID())
        .sign(privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
