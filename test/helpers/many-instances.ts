/**
 * The multi-instance suite (issue 5): three `serve` processes with the embedded authorization server on
 * one shared store, behind a round-robin balancer that sends every request to the next instance. The
 * official MCP client goes through the whole OAuth flow and makes 1,000 tool calls; ten refreshes of one
 * refresh token race across the instances; a DELETE on one instance ends the session on all; an
 * instance is killed with SIGKILL under load and nothing acknowledged is lost. Registered once per
 * shared store (`test/e2e/many-instances.test.ts`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { SAMPLE_COUNT } from '../../src/apps/incidents/index.js';
import { openStore } from '../../src/stores/open.js';
import { ADMIN, eventually, freePort, startEmbedded } from './embedded-as.js';
import { UserOAuthProvider } from './oauth-user-provider.js';
import { RoundRobin } from './round-robin.js';
import type { SharedStoreTarget } from './shared-stores.js';
import type { ServeProcess } from './serve-process.js';
import { UserAgent } from './user-agent.js';

const INSTANCES = 3;
const CALLS = 1_000;

interface Stack {
  balancer: RoundRobin;
  base: string;
  serves: ServeProcess[];
}

async function startStack(storeUrl: string): Promise<Stack> {
  const balancer = new RoundRobin();
  const base = await balancer.listen();
  const ports = await Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
  // All at once on an empty store: one admin, one seed, one signing key, one server secret between them.
  const serves = await Promise.all(ports.map((port) => startEmbedded(['--port', String(port), '--public-url', base, '--store', storeUrl])));
  balancer.instances = ports;
  return { balancer, base, serves };
}

function mcpClient(base: string, provider: UserOAuthProvider): { client: Client; transport: StreamableHTTPClientTransport } {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
  return { client: new Client({ name: 'portcullis-many-instances', version: '1.0.0' }), transport };
}

async function refresh(base: string, clientId: string, refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

export function manyInstancesSuite(name: string, makeTarget: () => Promise<SharedStoreTarget>): void {
  describe(`${INSTANCES} instances on one ${name} store behind a round-robin balancer`, { timeout: 180_000 }, () => {
    let target: SharedStoreTarget;
    let stack: Stack;
    let provider: UserOAuthProvider;
    let client: Client;
    let transport: StreamableHTTPClientTransport;

    before(async () => {
      target = await makeTarget();
      stack = await startStack(target.url);
    });

    after(async () => {
      await client?.close().catch(() => {});
      await Promise.all(stack?.serves.map((s) => s.stop()) ?? []);
      await stack?.balancer.close();
      await target?.cleanup();
    });

    it('the instances agree on one signing key, one admin and one set of sample incidents', async () => {
      const jwks = await Promise.all(stack.serves.map(async (s) => (await (await fetch(new URL('/.well-known/jwks.json', s.url))).json()) as { keys: { kid: string }[] }));
      const kids = jwks.map((set) => set.keys.map((k) => k.kid).join(','));
      assert.equal(new Set(kids).size, 1, `every instance publishes the same keys: ${kids.join(' | ')}`);
      assert.equal(jwks[0]!.keys.length, 1, 'one key, not one per instance');
      const store = await openStore(target.url);
      try {
        assert.equal(await store.users.count(), 1);
        assert.equal(await store.incidents.count(), SAMPLE_COUNT, 'seeded once');
      } finally {
        await store.close();
      }
    });

    it('the official MCP client: OAuth flow and 1,000 tool calls, every request on another instance than the one before', async () => {
      provider = new UserOAuthProvider(new UserAgent(ADMIN));
      ({ client, transport } = mcpClient(stack.base, provider));
      await assert.rejects(client.connect(transport), UnauthorizedError);
      await transport.finishAuth(provider.callback!);
      ({ client, transport } = mcpClient(stack.base, provider));
      await client.connect(transport);
      // The first token holds the challenge's incidents:read; creating needs a step-up (403 → re-authorization).
      await assert.rejects(client.callTool({ name: 'create_incident', arguments: { title: 'Step-up', description: 'needs write', severity: 'low', service: 'many-instances' } }), UnauthorizedError);
      await transport.finishAuth(provider.callback!);
      ({ client, transport } = mcpClient(stack.base, provider));
      await client.connect(transport);

      const start = stack.balancer.served.length;
      const created: string[] = [];
      for (let i = 0; i < CALLS; i++) {
        if (i % 4 === 0) {
          const result = await client.callTool({ name: 'create_incident', arguments: { title: `Call ${i}`, description: 'from the balancer test', severity: 'low', service: 'many-instances' } });
          assert.notEqual(result.isError, true, textOf(result));
          created.push(/INC-[0-9A-Z]{13}/.exec(textOf(result))![0]);
        } else if (i % 4 === 1) {
          const result = await client.callTool({ name: 'add', arguments: { a: i, b: 1 } });
          assert.match(textOf(result), new RegExp(`\\b${i + 1}\\b`));
        } else if (i % 4 === 2) {
          const result = await client.callTool({ name: 'list_incidents', arguments: { service: 'many-instances', limit: 5 } });
          assert.notEqual(result.isError, true, textOf(result));
        } else {
          const result = await client.callTool({ name: 'get_user_info', arguments: {} });
          assert.match(textOf(result), /scopes: incidents:read incidents:write/);
        }
      }
      // Besides the calls, the window may hold the client's GET (its standalone stream), opened on its own.
      const window = stack.balancer.served.slice(start);
      const calls = window.filter((c) => c.method === 'POST');
      assert.equal(calls.length, CALLS, 'one HTTP request per call: no retries, no re-initialization');
      assert.ok(calls.every((c) => c.path === '/mcp' && c.status === 200));
      for (let i = 1; i < window.length; i++) assert.notEqual(window[i]!.instance, window[i - 1]!.instance, `request ${i} on the same instance as the one before`);
      for (let n = 0; n < INSTANCES; n++) assert.ok(calls.filter((c) => c.instance === n).length >= CALLS / INSTANCES - 1, `instance ${n} took its share`);

      const store = await openStore(target.url);
      try {
        for (const id of created) assert.equal((await store.incidents.get(id))?.service, 'many-instances');
        assert.equal(await store.incidents.count({ service: 'many-instances' }), CALLS / 4);
      } finally {
        await store.close();
      }
    });

    it('a DELETE on one instance ends the session on every instance within the recheck interval', async () => {
      const sessionId = transport.sessionId!;
      const token = provider.tokens()!.access_token;
      await transport.terminateSession();
      const askEach = () =>
        Promise.all(
          stack.serves.map(async (s) => {
            const response = await fetch(s.url.replace(/\/mcp$/, '') + '/mcp', {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', 'content-type': 'application/json', accept: 'application/json, text/event-stream', host: new URL(stack.base).host },
              body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
            });
            return response.status;
          }),
        );
      // SESSION_RECHECK_MS is 5 s; allow for the instances' own timing.
      const statuses = await eventually(async () => {
        const all = await askEach();
        return all.every((status) => status === 404) ? all : undefined;
      }, 8_000, 'every instance refusing the deleted session');
      assert.deepEqual(statuses, [404, 404, 404]);
      ({ client, transport } = mcpClient(stack.base, provider));
      await client.connect(transport);
    });

    it('ten concurrent refreshes of one refresh token across the instances make one successor; a replay afterwards revokes the family', async () => {
      const clientId = provider.clientInformation()!.client_id;
      const original = provider.tokens()!.refresh_token!;
      const start = stack.balancer.served.length;
      const results = await Promise.all(Array.from({ length: 10 }, () => refresh(stack.base, clientId, original)));
      const instances = new Set(stack.balancer.served.slice(start).map((s) => s.instance));
      assert.equal(instances.size, INSTANCES, 'the refreshes reached every instance');
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(200), JSON.stringify(results.map((r) => r.body)));
      const successors = new Set(results.map((r) => r.body.refresh_token));
      assert.equal(successors.size, 1, 'one successor: the family did not fork');
      const [successor] = [...successors] as string[];
      assert.notEqual(successor, original);

      const next = await refresh(stack.base, clientId, successor!);
      assert.equal(next.status, 200);
      const replay = await refresh(stack.base, clientId, original);
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
      const after = await refresh(stack.base, clientId, next.body.refresh_token as string);
      assert.equal(after.status, 400, 'the replay revoked the whole family, on every instance');
      assert.equal(after.body.error, 'invalid_grant');
    });

    it('SIGKILL of an instance under load loses nothing that was acknowledged', async () => {
      // A fresh authorization (the last test revoked the family).
      provider = new UserOAuthProvider(new UserAgent(ADMIN));
      await client.close().catch(() => {});
      ({ client, transport } = mcpClient(stack.base, provider));
      await assert.rejects(client.connect(transport), UnauthorizedError);
      await transport.finishAuth(provider.callback!);
      ({ client, transport } = mcpClient(stack.base, provider));
      await client.connect(transport);
      await assert.rejects(client.callTool({ name: 'create_incident', arguments: { title: 'Step-up', description: 'needs write', severity: 'low', service: 'sigkill' } }), UnauthorizedError);
      await transport.finishAuth(provider.callback!);
      ({ client, transport } = mcpClient(stack.base, provider));
      await client.connect(transport);

      const incidents: string[] = [];
      const clients: string[] = [];
      let failures = 0;
      let done = 0;
      const victim = stack.serves[1]!;
      const PER_WORKER = 60;
      const worker = async (w: number) => {
        for (let i = 0; i < PER_WORKER; i++) {
          if (++done === 80) victim.child.kill('SIGKILL');
          try {
            if (w === 0 && i % 4 === 0) {
              const response = await fetch(`${stack.base}/oauth/register`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ client_name: `load ${i}`, redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }),
                signal: AbortSignal.timeout(10_000),
              });
              if (response.status === 201) clients.push(((await response.json()) as { client_id: string }).client_id);
              else failures++;
            } else {
              const result = await client.callTool({ name: 'create_incident', arguments: { title: `Load ${w}.${i}`, description: 'under SIGKILL', severity: 'medium', service: 'sigkill' } }, { timeout: 10_000 });
              if (result.isError === true) failures++;
              else incidents.push(/INC-[0-9A-Z]{13}/.exec(textOf(result))![0]);
            }
          } catch {
            failures++; // cut off with the instance: not acknowledged
          }
        }
      };
      await Promise.all([0, 1, 2, 3].map(worker));
      assert.equal(victim.child.signalCode, 'SIGKILL');
      assert.ok(incidents.length > 150, `most creates were acknowledged (${incidents.length}, ${failures} failed)`);
      assert.ok(clients.length > 0);

      const store = await openStore(target.url);
      try {
        for (const id of incidents) assert.ok(await store.incidents.get(id), `acknowledged incident ${id} survived`);
        for (const id of clients) assert.ok(await store.clients.get(id), `acknowledged client ${id} survived`);
        assert.ok((await store.incidents.count({ service: 'sigkill' })) >= incidents.length);
      } finally {
        await store.close();
      }
      // The tokens the client holds were acknowledged too: they still work on the surviving instances.
      const clientId = provider.clientInformation()!.client_id;
      const refreshed = await refresh(stack.base, clientId, provider.tokens()!.refresh_token!);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      const result = await client.callTool({ name: 'list_incidents', arguments: { service: 'sigkill', limit: 1 } });
      assert.notEqual(result.isError, true);
    });
  });
}
