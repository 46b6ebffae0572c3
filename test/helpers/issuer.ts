import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose';

/**
 * A small authorization server for tests: publishes RFC 8414 metadata and a JWKS on 127.0.0.1 and signs
 * access tokens with a real ES256 key. Counts JWKS fetches and can be switched off to test outages.
 */
export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  jwksHits: number;
  /** When false, every request gets a 503. */
  up: boolean;
  sign(claims: JWTPayload, options?: { expiresIn?: string | number; typ?: string; kid?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface TestIssuerOptions {
  /** Reshapes the metadata document it serves (e.g. drops `code_challenge_methods_supported`). */
  metadata?: (document: Record<string, unknown>) => Record<string, unknown>;
}

export async function startIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const server = http.createServer((req, res) => {
    if (!state.up) {
      res.writeHead(503).end();
      return;
    }
    if (req.url === '/.well-known/oauth-authorization-server' || req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const document = { issuer: state.issuer, jwks_uri: state.jwksUri, authorization_endpoint: `${state.issuer}/authorize`, token_endpoint: `${state.issuer}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'] };
      res.end(JSON.stringify(options.metadata ? options.metadata(document) : document));
      return;
    }
    if (req.url === '/jwks') {
      state.jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: TestIssuer = {
    issuer: base,
    jwksUri: `${base}/jwks`,
    jwksHits: 0,
    up: true,
    sign: (claims, options = {}) => signWith(privateKey, base, claims, options),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  return state;
}

function signWith(key: CryptoKey, issuer: string, claims: JWTPayload, options: { expiresIn?: string | number; typ?: string; kid?: string }): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'test-key', typ: options.typ ?? 'at+jwt' })
    .setIssuer(claims.iss ?? issuer)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(key);
}
