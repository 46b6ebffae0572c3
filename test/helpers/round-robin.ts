/**
 * A round-robin load balancer for the multi-instance tests: one loopback port in front of several
 * `serve` processes, each request (not each connection) sent to the next instance in turn, the `Host`
 * header kept (the instances all serve one public URL). It records which instance got every request, in
 * the order it sent them, so a test can prove that consecutive requests landed on different instances (an
 * SSE stream answers late, so the order of answers would not tell).
 *
 * An instance that refuses the connection (it is dead) is skipped for that request and marked down; a
 * request cut off mid-way (the instance died under it) gets 502, as a real balancer answers.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request, recorded when it is sent to its instance (so in the order of the balancer's picks). */
export interface Served {
  readonly method: string;
  readonly path: string;
  readonly instance: number;
  /** The instance's status; 0 until it answers (or when it never did). */
  status: number;
}

export class RoundRobin {
  readonly served: Served[] = [];
  readonly #server = http.createServer((req, res) => this.#forward(req, res));
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #down = new Set<number>();
  #next = 0;
  #ports: number[] = [];

  /** Starts listening on a free loopback port; the instances are given later (they need its URL first). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => this.#server.once('error', reject).listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  set instances(ports: number[]) {
    this.#ports = ports;
  }

  /** Marks an instance up again (after a restart on the same port). */
  revive(instance: number): void {
    this.#down.delete(instance);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pick(): number | undefined {
    for (let tries = 0; tries < this.#ports.length; tries++) {
      const instance = this.#next;
      this.#next = (this.#next + 1) % this.#ports.length;
      if (!this.#down.has(instance)) return instance;
    }
    return undefined;
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    // The body is buffered so that a refused connection can be retried on the next instance.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.#send(req, res, Buffer.concat(chunks), 0));
  }

  #send(req: IncomingMessage, res: ServerResponse, body: Buffer, attempt: number): void {
    const instance = this.#pick();
    if (instance === undefined || attempt >= this.#ports.length) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no instance is up');
      return;
    }
    const headers = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    delete headers['transfer-encoding'];
    if (body.length > 0) headers['content-length'] = String(body.length);
    const served: Served = { method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, instance, status: 0 };
    const upstream = http.request(
      { host: '127.0.0.1', port: this.#ports[instance], method: req.method, path: req.url, headers, agent: this.#agent },
      (answer) => {
        served.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' && !res.headersSent) {
        this.served.splice(this.served.indexOf(served), 1); // never reached that instance: the retry is the record
        this.#down.add(instance);
        this.#send(req, res, body, attempt + 1);
      } else if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`instance ${instance} failed: ${err.code ?? err.message}`);
      } else {
        res.destroy();
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    this.served.push(served);
    upstream.end(body);
  }
}
