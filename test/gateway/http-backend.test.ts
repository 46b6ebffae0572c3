/**
 * The HTTP backend (src/gateway/backends/http.ts) against a real `node:http` server on loopback: a body
 * that arrived with its headers is handed over whole (a Buffer, no stream); one that is still coming
 * streams, with what came first at its start; one the backend breaks off closes without `end`; an
 * abandoned exchange stops the backend's answer; an unreachable backend rejects.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { abandonOn, type Backend } from '../../src/gateway/backend.js';
import { createHttpBackend } from '../../src/gateway/backends/http.js';
import { caller, text } from '../helpers/backend-exchanges.js';

const JSON_BODY = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"3"}]}}';

let server: http.Server;
let base: string;
/** Whether the `/slow` answer's client went away before it ended. */
let slowAborted: Promise<boolean>;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/json') return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(JSON_BODY) }).end(JSON_BODY);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    if (req.url === '/stream') return void setTimeout(() => res.end('data: second\n\n'), 50);
    if (req.url === '/broken') return void setTimeout(() => res.destroy(), 50);
    slowAborted = new Promise((resolve) => res.once('close', () => resolve(!res.writableFinished)));
    setTimeout(() => res.end('data: late\n\n'), 5_000).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function backendAt(path: string): Backend {
  return createHttpBackend({ url: new URL(path, base) });
}

function send(backend: Backend, onAbandon = abandonOn(AbortSignal.timeout(10_000))) {
  return backend.send({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', caller, onAbandon });
}

describe('HTTP backend', () => {
  it('hands over a body that came with its headers whole, and streams one still coming', async () => {
    const json = backendAt('/json');
    const whole = await send(json);
    assert.equal(whole.status, 200);
    assert.ok(Buffer.isBuffer(whole.body), 'a JSON answer that arrived at once is a Buffer');
    assert.equal(whole.body.toString('utf8'), JSON_BODY);
    await json.close();

    const stream = backendAt('/stream');
    const streamed = await send(stream);
    assert.ok(streamed.body instanceof Readable, 'a body still coming is a stream');
    assert.equal(await text(streamed.body), 'data: first\n\ndata: second\n\n');
    await stream.close();
  });

  it('a body the backend breaks off closes without end', async () => {
    const broken = backendAt('/broken');
    const answer = await send(broken);
    assert.ok(answer.body instanceof Readable);
    const body = answer.body;
    const chunks: string[] = [];
    const ended = await new Promise<boolean>((resolve) => {
      body.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
      body.on('error', () => {});
      body.once('end', () => resolve(true));
      body.once('close', () => resolve(body.readableEnded));
    });
    assert.equal(ended, false);
    assert.equal(chunks.join(''), 'data: first\n\n');
    await broken.close();
  });

  it('an abandoned exchange stops the answer; an unreachable backend rejects', async () => {
    const slow = backendAt('/slow');
    let abandon!: () => void;
    const answer = await send(slow, (stop) => (abandon = stop));
    assert.ok(answer.body instanceof Readable);
    answer.body.on('error', () => {});
    abandon();
    assert.equal(await slowAborted, true);
    await slow.close();

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = createHttpBackend({ url: new URL(`http://127.0.0.1:${port}/mcp`) });
    await assert.rejects(send(unreachable));
    await unreachable.close();
  });
});
