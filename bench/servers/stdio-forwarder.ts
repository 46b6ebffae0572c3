/**
 * The `stdio-forwarder` row: the bare bridge the `gateway-stdio` row is measured against, the least an HTTP
 * front to a stdio MCP server does. It spawns the command after `--` once, and every POST's JSON-RPC
 * message goes to its stdin as one line; a request's answer is the stdout line with its `id`, sent back as
 * JSON. One process, one session for every caller (`Mcp-Session-Id: bare`), bodies passed as they came
 * (the bench's are one line each) and ids unchanged (the bench's are unique). No authentication, no checks,
 * no logs, no streams, no restarts.
 *
 * It is a cheap bridge, not a naive one: like the gateway, it writes one turn's lines to stdin in one write
 * and ends one turn's answers together (each write wakes a sleeping reader, the largest cost per message
 * on this machine), so what it costs is the least the stdio hop costs.
 *
 * Run: `node stdio-forwarder.js -- node backend-stdio.js --dist DIR` → prints
 * `{"msg":"listening","url":"http://127.0.0.1:PORT/mcp"}`.
 */
import { spawn } from 'node:child_process';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, exitOnSignal } from './lib/announce.js';

const [command, ...args] = process.argv.slice(process.argv.indexOf('--') + 1);
if (!process.argv.includes('--') || command === undefined) {
  process.stderr.write('usage: stdio-forwarder -- COMMAND [ARG…]\n');
  process.exit(2);
}
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
child.once('exit', () => process.exit(1));

/** Who waits for the answer with each id. */
const waiting = new Map<unknown, ServerResponse>();

let lines: string[] | undefined;
function send(line: string): void {
  if (lines === undefined) {
    lines = [];
    setImmediate(() => {
      child.stdin.write(`${lines!.join('\n')}\n`);
      lines = undefined;
    });
  }
  lines.push(line);
}

let ends: [ServerResponse, string][] | undefined;
function answer(res: ServerResponse, json: string): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), 'mcp-session-id': 'bare' });
  if (ends === undefined) {
    ends = [];
    setImmediate(() => {
      for (const [done, body] of ends!) done.end(body);
      ends = undefined;
    });
  }
  ends.push([res, json]);
}

let partial = '';
child.stdout.setEncoding('utf8').on('data', (text: string) => {
  const got = (partial + text).split('\n');
  partial = got.pop()!;
  for (const line of got) {
    const id: unknown = (JSON.parse(line) as { id?: unknown }).id;
    const res = waiting.get(id);
    if (res === undefined) continue;
    waiting.delete(id);
    answer(res, line);
  }
});

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (text: string) => (body += text));
  req.once('end', () => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const id: unknown = (JSON.parse(body) as { id?: unknown }).id;
    if (id === undefined) res.writeHead(202).end();
    else waiting.set(id, res);
    send(body);
  });
});

server.listen(0, '127.0.0.1', () => announce(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`));
exitOnSignal(() => {
  child.kill();
  server.close();
});
