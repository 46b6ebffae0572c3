/**
 * The floor: Node's `http` module answering a JSON-RPC `tools/call` of `add` with no framework, no
 * authentication and no protocol checks. It reads the body, parses it, adds the two arguments and answers
 * a JSON-RPC result of the same shape the MCP servers send. Nothing written in Node can be faster than
 * this on the same machine, so every other row is reported as a fraction of it.
 *
 * Run: `node floor.js` → prints `{"msg":"listening","url":"http://127.0.0.1:PORT/"}`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, exitOnSignal } from './lib/announce.js';

interface Call {
  id?: string | number | null;
  params?: { arguments?: { a?: unknown; b?: unknown } };
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let call: Call;
    try {
      call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Call;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const args = call.params?.arguments;
    const sum = Number(args?.a) + Number(args?.b);
    const body = JSON.stringify({ jsonrpc: '2.0', id: call.id ?? null, result: { content: [{ type: 'text', text: String(sum) }] } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  announce(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
exitOnSignal(() => server.close());
