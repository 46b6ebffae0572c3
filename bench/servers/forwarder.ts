/**
 * The `forwarder` row: the bare forwarder issue 4 measures the gateway against, the least an HTTP proxy in
 * front of the bench's backend does. About thirty lines of `node:http`: every request's body is read and
 * sent with the same method and headers to `--target` over a keep-alive agent, and the answer's status,
 * headers and body are piped back. No authentication, no parsing, no logs: what remains is the cost of
 * the extra hop (three processes on two cores, two more loopback writes per call).
 *
 * Run: `node forwarder.js --target http://127.0.0.1:PORT/mcp` → prints
 * `{"msg":"listening","url":"http://127.0.0.1:PORT/mcp"}`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { announce, exitOnSignal } from './lib/announce.js';

const { values } = parseArgs({ options: { target: { type: 'string' } } });
if (values.target === undefined) {
  process.stderr.write('usage: forwarder --target BACKEND_URL\n');
  process.exit(2);
}
const target = new URL(values.target);
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.once('end', () => {
    const { host: _host, connection: _connection, ...headers } = req.headers;
    const outgoing = http.request({ hostname: target.hostname, port: target.port, path: target.pathname, method: req.method, headers, agent }, (answer) => {
      const { connection: _closes, 'keep-alive': _keepAlive, ...passed } = answer.headers;
      res.writeHead(answer.statusCode ?? 502, passed);
      answer.pipe(res);
    });
    outgoing.once('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    outgoing.end(Buffer.concat(chunks));
  });
});

server.listen(0, '127.0.0.1', () => announce(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`));
exitOnSignal(() => {
  agent.destroy();
  server.close();
});
