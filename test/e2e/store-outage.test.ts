/**
 * Issue 5, "Failure": `portcullis serve` (embedded authorization server) on Redis and on PostgreSQL whose
 * store goes away and comes back, over real HTTP against the real process. While the store is down every
 * answer that needs it is 503 `temporarily_unavailable` with `Retry-After`, never a token, never data,
 * never a 500; `/ready` says 503 and `/health` 200; the outage is a warning in the log, not an error per
 * request, and no token is ever written out. When the store is back the same process serves the same
 * client, token and MCP session again, with nothing run while it was away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertTokenRefusal, eventually, issuerOf, postForm, runCli, startEmbedded, type HttpResult } from '../helpers/embedded-as.js';
import { readResult } from '../helpers/http-result.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { forwardedPostgres, throwawayRedis, type OutageTarget } from '../helpers/store-outages.js';

const TIMEOUT = { timeout: 120_000 };
const PROTOCOL = '2025-11-25';
/** The one protocol version with JSON-RPC batches. */
const BATCHING = '2025-03-26';
const SCOPE = 'incidents:read incidents:write';
const NEW_INCIDENT = { title: 'Written during the outage', description: 'must never be stored', severity: 'low', service: 'outage-probe' };
/** pino's numeric levels. */
const WARN = 40;
const ERROR = 50;

const targets: Array<[string, () => Promise<OutageTarget>]> = [
  ['Redis (a redis-server of its own, killed and restarted)', throwawayRedis],
  ['PostgreSQL (behind a forwarder that is closed and reopened)', forwardedPostgres],
];

for (const [name, open] of targets) {
  describe(`serve on ${name}: the store goes away and comes back`, () => {
    let target: OutageTarget;
    let serve: ServeProcess;
    let client: { client_id: string; client_secret: string };
    let token: string;
    let session: string;
    let batchingSession: string;
    let incidents: number;
    /** Where the outage starts in `serve.logs`. */
    let logsAtOutage: number;
    const tokens: string[] = [];

    const tokenRequest = (): Promise<HttpResult> =>
      postForm(serve, '/oauth/token', { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret, scope: SCOPE, resource: serve.url });
    const mcp = async (message: Record<string, unknown> | Array<Record<string, unknown>>, sessionId?: string, version = PROTOCOL): Promise<HttpResult> =>
      readResult(
        await fetch(serve.url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json, text/event-stream',
            'content-type': 'application/json',
            ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId, 'mcp-protocol-version': version }),
          },
          body: JSON.stringify(Array.isArray(message) ? message.map((m) => ({ jsonrpc: '2.0', ...m })) : { jsonrpc: '2.0', ...message }),
          signal: AbortSignal.timeout(15_000),
        }),
      );
    const initialize = (version = PROTOCOL): Promise<HttpResult> => mcp({ id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'outage-probe', version: '1' } } });
    const callTool = (tool: string, args: Record<string, unknown>): Promise<HttpResult> => mcp({ id: 2, method: 'tools/call', params: { name: tool, arguments: args } }, session);
    const rest = async (tool: string, args: Record<string, unknown>): Promise<HttpResult> =>
      readResult(await fetch(`${serve.url}/tools/call/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(args), signal: AbortSignal.timeout(15_000) }));
    const probe = async (path: string): Promise<number> => (await fetch(`${issuerOf(serve)}${path}`, { signal: AbortSignal.timeout(15_000) })).status;
    const total = (result: HttpResult): number => ((result.body.result as { structuredContent: { total: number } }).structuredContent.total);

    before(async () => {
      target = await open();
      serve = await startEmbedded(['--store', target.url]);
      const added = await runCli(['clients', 'add', '--name', 'outage probe', '--grant-types', 'client_credentials', '--auth-method', 'client_secret_post', '--scope', SCOPE, '--json', '--store', target.url]);
      assert.equal(added.code, 0, added.stderr);
      client = JSON.parse(added.stdout) as typeof client;
    });
    after(async () => {
      await serve?.stop();
      await target?.cleanup();
    });

    it('before the outage: a token, an MCP session, a tool call; ready', TIMEOUT, async () => {
      const issued = await tokenRequest();
      assert.equal(issued.status, 200, issued.text);
      token = String(issued.body.access_token);
      tokens.push(token);
      const initialized = await initialize();
      assert.equal(initialized.status, 200, initialized.text);
      session = initialized.headers.get('mcp-session-id')!;
      assert.ok(session);
      assert.equal((await mcp({ method: 'notifications/initialized' }, session)).status, 202);
      const batching = await initialize(BATCHING);
      assert.equal(batching.status, 200, batching.text);
      batchingSession = batching.headers.get('mcp-session-id')!;
      assert.equal((await mcp({ method: 'notifications/initialized' }, batchingSession, BATCHING)).status, 202);
      const listed = await callTool('list_incidents', { limit: 1 });
      assert.equal(listed.status, 200, listed.text);
      incidents = total(listed);
      assert.ok(incidents > 0, 'the sample incidents are there');
      assert.equal(await probe('/ready'), 200);
      assert.equal(await probe('/health'), 200);
    });

    it('while the store is down: 503 temporarily_unavailable everywhere it is needed, never a token or data', TIMEOUT, async () => {
      logsAtOutage = serve.logs.length;
      await target.down();
      // The process notices a dropped connection a moment after the fact: wait (bounded) for /ready to say so.
      await eventually(async () => ((await probe('/ready')) === 503 ? true : undefined), 15_000, '/ready answering 503');
      assert.equal(await probe('/health'), 200, 'the process is alive');

      // The token endpoint issues nothing (a burst: each one refused the same way).
      for (const refused of await Promise.all(Array.from({ length: 8 }, tokenRequest))) {
        assertTokenRefusal(refused, 503, 'temporarily_unavailable');
        assert.ok(refused.headers.get('retry-after'), 'Retry-After');
      }
      // Registration (RFC 7591) cannot store a client either.
      const registered = await readResult(
        await fetch(`${issuerOf(serve)}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'x', redirect_uris: ['http://127.0.0.1:1/cb'], token_endpoint_auth_method: 'none' }), signal: AbortSignal.timeout(15_000) }),
      );
      assertUnavailable(registered);
      assert.equal(registered.body.client_id, undefined);

      // A new MCP session cannot be stored: 503, and no session id is handed out.
      const initialized = await initialize();
      assertUnavailable(initialized);
      assert.equal(initialized.headers.get('mcp-session-id'), null);

      // Tools that need the store, in the session and through REST: 503, never 200 with data, never 500.
      for (const refused of [await callTool('list_incidents', {}), await callTool('create_incident', NEW_INCIDENT), await rest('list_incidents', {}), await rest('create_incident', NEW_INCIDENT)]) {
        assertUnavailable(refused);
        assert.equal(refused.body.result, undefined, refused.text);
        assert.equal(refused.body.structuredContent, undefined, refused.text);
      }
      // In a batch each request is answered: with the JSON-RPC error temporarily_unavailable (or, once the
      // session is due for its check against the store, the whole batch is 503). Never a result.
      const batch = await mcp([{ id: 3, method: 'tools/call', params: { name: 'list_incidents', arguments: {} } }, { id: 4, method: 'tools/call', params: { name: 'create_incident', arguments: NEW_INCIDENT } }], batchingSession, BATCHING);
      if (batch.status === 503) assertUnavailable(batch);
      else {
        assert.equal(batch.status, 200, batch.text);
        const answers = JSON.parse(batch.text) as Array<{ result?: unknown; error?: { code: number; data?: { error?: string } } }>;
        assert.equal(answers.length, 2, batch.text);
        for (const answer of answers) {
          assert.equal(answer.result, undefined, batch.text);
          assert.equal(answer.error?.data?.error, 'temporarily_unavailable', batch.text);
        }
      }

      // A token verified before the outage still works for what needs no store: the verdict (and the
      // signing keys) are held in memory. That grants nothing new: the token was validly issued.
      const added = await rest('add', { a: 2, b: 3 });
      assert.equal(added.status, 200, added.text);

      // Every refusal has its access-log line; the outage is a warning, not an error (or a stack) per request.
      await serve.waitForLog((line) => line.request === 'POST /mcp/tools/call/create_incident');
      const lines = serve.logs.slice(logsAtOutage);
      const refusals = lines.filter((line) => line.msg === 'request' && line.status === 503);
      assert.ok(refusals.length >= 12, `refusals logged: ${refusals.length}`);
      assert.deepEqual(lines.filter((line) => Number(line.level) >= ERROR), [], 'nothing at error level');
      const warnings = lines.filter((line) => Number(line.level) === WARN);
      const outage = warnings.filter((line) => String(line.msg).startsWith('the store is unavailable'));
      assert.ok(outage.length >= 1, 'the outage is logged as a warning');
      assert.ok(String(outage[0]!.reason).includes(new URL(target.url).host), `naming where the store is: ${String(outage[0]!.reason)}`);
      assert.ok(warnings.length < refusals.length / 2, `not a warning per request: ${warnings.length} warnings for ${refusals.length} refusals`);
      assert.ok(lines.every((line) => !JSON.stringify(line).includes('"stack"')), 'no stack traces');
    });

    it('once the store is back: the same process serves the same client, token and session again', TIMEOUT, async () => {
      await target.up();
      await eventually(async () => ((await probe('/ready')) === 200 ? true : undefined), 30_000, '/ready answering 200 again');

      const listed = await callTool('list_incidents', { limit: 1 });
      assert.equal(listed.status, 200, listed.text);
      assert.equal(total(listed), incidents, 'the same data, and nothing was created while the store was down');
      const created = await callTool('create_incident', { ...NEW_INCIDENT, title: 'Written after the outage' });
      assert.equal(created.status, 200, created.text);
      assert.equal((created.body.result as { isError?: boolean }).isError, undefined, created.text);

      const issued = await tokenRequest();
      assert.equal(issued.status, 200, issued.text);
      tokens.push(String(issued.body.access_token));
      assert.equal((await initialize()).status, 200);

      const output = serve.output();
      for (const secret of [...tokens, client.client_secret]) assert.ok(!output.includes(secret), 'no token or client secret in the output');
    });
  });
}

/** A 503 `temporarily_unavailable` with `Retry-After`: what every layer answers when its store cannot serve. */
function assertUnavailable(result: HttpResult): void {
  assert.equal(result.status, 503, result.text);
  assert.equal(result.body.error, 'temporarily_unavailable', result.text);
  assert.ok(result.headers.get('retry-after'), `Retry-After on ${result.text}`);
}
