/**
 * endAtTurnEnd (src/core/turn-end.ts) on a real server: the answers ended in one turn of the event loop
 * are written at its end, together, and each reaches its client whole; an answer whose connection went
 * away before the end of the turn is skipped and the others still go out.
 */
import assert from 'node:assert/strict';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { endAtTurnEnd } from '../../src/core/turn-end.js';

/** A server that holds the responses of the first `count` requests and gives them to `ready` together. */
async function holdingServer(count: number, ready: (held: ServerResponse[]) => void): Promise<{ url: string; close(): Promise<void> }> {
  const held: ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      held.push(res);
      if (held.length === count) ready(held);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('endAtTurnEnd', () => {
  it('ends the answers of one turn at its end, and each client gets its whole body', async (t) => {
    const checked: Array<Promise<void>> = [];
    const server = await holdingServer(3, (held) => {
      held.forEach((res, i) => {
        const body = JSON.stringify({ answer: i, pad: 'x'.repeat(i * 1000) });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        endAtTurnEnd(res, body);
      });
      // Still this turn: nothing has ended yet, the headers count as sent.
      assert.deepEqual(held.map((res) => [res.headersSent, res.writableEnded]), [[true, false], [true, false], [true, false]]);
      checked.push(new Promise((resolve) => setImmediate(() => {
        assert.deepEqual(held.map((res) => res.writableEnded), [true, true, true]);
        resolve();
      })));
    });
    t.after(() => server.close());

    const answers = await Promise.all([0, 1, 2].map(() => fetch(server.url, { method: 'POST', body: '{}' }).then((r) => r.json() as Promise<{ answer: number; pad: string }>)));
    await Promise.all(checked);
    assert.deepEqual(answers.map((a) => a.answer).sort(), [0, 1, 2]);
    for (const a of answers) assert.equal(a.pad.length, a.answer * 1000);
  });

  it('skips an answer whose connection is gone by the end of the turn; the others still go out', async (t) => {
    const server = await holdingServer(2, ([first, second]) => {
      for (const res of [first!, second!]) {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        endAtTurnEnd(res, 'ok');
      }
      first!.destroy();
    });
    t.after(() => server.close());

    const results = await Promise.allSettled([0, 1].map(() => fetch(server.url, { method: 'POST', body: 'x' }).then((r) => r.text())));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1, 'the destroyed answer never arrives');
    assert.deepEqual(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value), ['ok']);
  });
});
