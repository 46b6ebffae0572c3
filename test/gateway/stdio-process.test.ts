/**
 * StdioProcess (src/gateway/lib/stdio-process.ts) with a real child: the lines written in one turn of the
 * event loop reach the child in one write (its first read holds all of them, in order), and every writer
 * of them hears when the pipe took them, lines sent without a wait included; a process that is gone refuses
 * writes and sends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/core/log.js';
import type { Message } from '../../src/mcp/jsonrpc.js';
import { StdioProcess, type ProcessExit } from '../../src/gateway/lib/stdio-process.js';

/** Answers each read of its stdin with one JSON-RPC notification holding what that read returned. */
const ECHO_READS = `process.stdin.on('data', (chunk) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'read', params: { text: chunk.toString() } }) + '\\n'));`;

describe('StdioProcess', () => {
  it('writes the lines of one event-loop turn with one write; refuses writes and sends once the process is gone', async (t) => {
    const reads: string[] = [];
    let gotRead!: () => void;
    const firstRead = new Promise<void>((resolve) => (gotRead = resolve));
    let exited!: (exit: ProcessExit) => void;
    const exit = new Promise<ProcessExit>((resolve) => (exited = resolve));
    const child = await StdioProcess.spawn({
      command: process.execPath,
      args: ['-e', ECHO_READS],
      env: {},
      cwd: undefined,
      maxLineBytes: 1024 * 1024,
      logger: createLogger('silent'),
      onMessage: (message: Message) => {
        if (message.kind === 'notification') reads.push(String(message.params?.['text']));
        gotRead();
      },
      onExit: (result) => exited(result),
    });
    t.after(() => child.stop(2_000));

    const taken = [child.write('{"id":1}'), child.write('{"id":2}', '{"id":3}')];
    assert.equal(child.send('{"id":4}'), true, 'a running process takes lines sent without a wait');
    await Promise.all(taken);
    await firstRead;
    assert.equal(reads[0], '{"id":1}\n{"id":2}\n{"id":3}\n{"id":4}\n');

    await child.stop(2_000);
    const ended = await exit;
    assert.ok(ended.code !== null || ended.signal !== null, 'onExit names how the process ended');
    assert.equal(child.finished, true);
    await assert.rejects(child.write('{"id":5}'), /the stdio backend process is gone/);
    assert.equal(child.send('{"id":6}'), false, 'a process that is gone takes no lines');
  });
});
