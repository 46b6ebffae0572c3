/**
 * The anchor: what a user would build without Portcullis. The official SDK v2 `McpServer` with the same
 * `add` tool, its Streamable HTTP transport (`WebStandardStreamableHTTPServerTransport`), and the SDK's
 * own bearer gate (`requireBearerAuth`) in front, with a verifier that checks the same ES256 JWT with
 * `jose` against the same JWKS (issuer, audience = this server's resource URL, algorithm fixed).
 *
 * Two configurations, chosen with `--mode`:
 * - `stateful`: one transport + server per session, kept in a map by `Mcp-Session-Id` (the SDK's
 *   session example); the benchmark initializes one session and reuses it.
 * - `stateless`: a new server and transport for every request (`sessionIdGenerator: undefined`), as the
 *   SDK documentation shows for stateless serving.
 *
 * Both answer with JSON rather than SSE (`enableJsonResponse`), the cheaper of the SDK's two response
 * modes, so the anchor is measured at its best. The Node ↔ fetch conversion is `./lib/node-fetch.ts`
 * (the `@modelcontextprotocol/node` adapter is not installed).
 *
 * Run: `node sdk-anchor.js --mode stateful --issuer URL --jwks-uri URL`
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import {
  McpServer,
  OAuthError,
  OAuthErrorCode,
  WebStandardStreamableHTTPServerTransport,
  getOAuthProtectedResourceMetadataUrl,
  requireBearerAuth,
  type AuthInfo,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';
import { announce, exitOnSignal } from './lib/announce.js';
import { toNodeListener } from './lib/node-fetch.js';

const { values } = parseArgs({ options: { mode: { type: 'string' }, issuer: { type: 'string' }, 'jwks-uri': { type: 'string' } } });
const mode = values.mode;
const issuer = values.issuer;
const jwksUri = values['jwks-uri'];
if ((mode !== 'stateful' && mode !== 'stateless') || !issuer || !jwksUri) {
  process.stderr.write('usage: sdk-anchor --mode stateful|stateless --issuer URL --jwks-uri URL\n');
  process.exit(2);
}

function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'sdk-anchor', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers.', inputSchema: z.object({ a: z.number(), b: z.number() }) },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  return server;
}

function jwtVerifier(resource: URL): OAuthTokenVerifier {
  const keys = createRemoteJWKSet(new URL(jwksUri!));
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keys, { issuer, audience: resource.href, algorithms: ['ES256'] }));
      } catch {
        throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid token');
      }
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      return {
        token,
        clientId: typeof payload.client_id === 'string' ? payload.client_id : '',
        scopes: scope.split(' ').filter((s) => s.length > 0),
        ...(payload.exp !== undefined && { expiresAt: payload.exp }),
        resource,
        extra: { sub: payload.sub },
      };
    },
  };
}

const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();

async function stateful(request: Request, authInfo: AuthInfo): Promise<Response> {
  const sessionId = request.headers.get('mcp-session-id');
  if (sessionId !== null) {
    const transport = sessions.get(sessionId);
    if (!transport) return Response.json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }, { status: 404 });
    return transport.handleRequest(request, { authInfo });
  }
  const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: true,
    onsessioninitialized: (id) => {
      sessions.set(id, transport);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
  };
  await createMcpServer().connect(transport);
  return transport.handleRequest(request, { authInfo });
}

async function stateless(request: Request, authInfo: AuthInfo): Promise<Response> {
  const server = createMcpServer();
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    return await transport.handleRequest(request, { authInfo });
  } finally {
    // a JSON response is complete once returned; release the per-request pair as the SDK docs do on close
    void server.close();
  }
}

const httpServer = http.createServer();
httpServer.listen(0, '127.0.0.1', () => {
  const resource = new URL(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`);
  const gate = requireBearerAuth({ verifier: jwtVerifier(resource), expectedResource: resource, resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource) });
  const serveMcp = mode === 'stateful' ? stateful : stateless;
  httpServer.on(
    'request',
    toNodeListener(async (request) => {
      if (new URL(request.url).pathname !== '/mcp') return new Response('Not found', { status: 404 });
      const auth = await gate(request);
      if (auth instanceof Response) return auth;
      return serveMcp(request, auth);
    }),
  );
  announce(resource.href);
});
exitOnSignal(() => httpServer.close());
