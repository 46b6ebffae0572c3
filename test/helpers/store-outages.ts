/**
 * Shared stores a test can take down and bring back while `serve` runs on them: a redis-server of the
 * test's own (killed like a crash, restarted on the same port with its data), and the shared PostgreSQL
 * behind a TCP forwarder of the test's own (an outage closes the forwarder and cuts every connection
 * through it; recovery listens again on the same port). The shared servers themselves are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from './embedded-as.js';
import { postgresTarget } from './shared-stores.js';

const HOST = '127.0.0.1';

export interface OutageTarget {
  /** The store URL `serve` is given. */
  readonly url: string;
  /** Makes the store unreachable; resolves once it is. */
  down(): Promise<void>;
  /** Makes it reachable again at the same address, with the data it held. */
  up(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * A redis-server on a free port with an append-only file fsynced on every write (`--appendfsync always`),
 * so what it acknowledged before a SIGKILL is there again after the restart: the same client, signing
 * keys and MCP session work once it is back.
 */
export async function throwawayRedis(): Promise<OutageTarget> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-outage-redis-'));
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    await eventually(async () => {
      if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}`);
      return (await accepts(port)) || undefined;
    }, 10_000, 'redis-server listening');
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://${HOST}:${port}/0?prefix=outage:`,
    down: stop,
    up: start,
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh schema on the shared PostgreSQL, reached through a forwarder on a port of its own. `cleanup`
 * closes the forwarder and drops the schema (over a direct connection).
 */
export async function forwardedPostgres(): Promise<OutageTarget> {
  const target = postgresTarget();
  const url = new URL(target.url);
  const forwarder = new Forwarder(Number(url.port || 5432));
  await forwarder.listen(0);
  url.port = String(forwarder.port);
  return {
    url: url.href,
    down: () => forwarder.close(),
    up: () => forwarder.listen(forwarder.port),
    async cleanup() {
      await forwarder.close();
      await target.cleanup();
    },
  };
}

/** Pipes every connection to 127.0.0.1:`target`; `close` stops listening and cuts what is open. */
class Forwarder {
  port = 0;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  constructor(private readonly target: number) {}

  async listen(port: number): Promise<void> {
    const server = net.createServer((client) => {
      const server = net.connect(this.target, HOST);
      for (const socket of [client, server]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          server.destroy();
        });
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, HOST, resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

/** Whether something accepts a TCP connection on the port now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST, () => socket.end(() => resolve(true)));
    socket.on('error', () => resolve(false));
  });
}
