/**
 * MCP over stdio (spec 2025-11-25, basic/transports, "stdio"): one connection, one JSON-RPC message per
 * line on `input` and `output`, for a server launched by its client (a desktop MCP client, or the
 * gateway's stdio backend).
 *
 * **The caller is given, not authenticated.** Whoever writes to the process's stdin started it; the spec
 * leaves authorization to the environment for stdio. `auth` is who the tools see; the items' scopes are
 * still checked against it, and a missing one is a JSON-RPC error (-32600, `data.error`
 * `insufficient_scope`, `data.scope` what is needed), as in an SSE answer over HTTP.
 *
 * **One session per connection.** `initialize` opens it (a second one is refused with -32600); before it,
 * a request other than `ping` gets -32600. Bad JSON gets -32700 with `id: null`; a line longer than
 * `maxLineBytes` is skipped unread and answered with -32600 and `id: null`; a JSON array is a batch, part
 * of protocol 2025-03-26 only, answered with one array line.
 *
 * **Concurrency.** Requests run concurrently and each response is written when it is ready; a request's
 * progress, log notifications and server-to-client requests (sampling, elicitation, roots) are written
 * while it runs, and the client's answers to those come back on `input`. `notifications/cancelled` stops a
 * request (its response is not sent). A subscribed resource's `notifications/resources/updated` is
 * written as it happens. The lines of one turn of the event loop go out in one write. When `output`
 * cannot take more, `input` is paused until it drains.
 *
 * **The end.** When `input` ends (the client's way to shut a stdio server down) or `output` fails (the
 * client went away), the session ends: running requests are cancelled, waiting server-to-client requests
 * fail, and {@link serveStdio} resolves once every handler has returned. Nothing but protocol lines is
 * written to `output`; the server's logger must write elsewhere (`createLogger(level, 'stderr')`).
 */
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { AuthInfo } from '../core/auth.js';
import { JsonRpcCode, JsonRpcError } from '../core/errors.js';
import { LineSplitter } from '../core/line-splitter.js';
import { LineWriter } from '../core/line-writer.js';
import { classify, errorFrame, resultFrame, type Message, type Request, type RequestId } from './jsonrpc.js';
import { handleInSession, initializeResult, negotiate, type Answer } from './requests.js';
import { Session } from './session.js';
import type { TransportCore } from './transport.js';

export interface StdioOptions {
  /** Where the client's messages arrive (`process.stdin`). */
  readonly input: Readable;
  /** Where the server's messages go (`process.stdout`). */
  readonly output: Writable;
  /** Who the caller is (see the module comment). */
  readonly auth: AuthInfo;
  /** Longest message read, in bytes (default: the server's `maxBodyBytes`). */
  readonly maxLineBytes?: number;
}

/** Serves one stdio connection; resolves when it is over (see the module comment). */
export function serveStdio(core: TransportCore, options: StdioOptions): Promise<void> {
  return new StdioConnection(core, options).served;
}

class StdioConnection {
  readonly served: Promise<void>;
  private session: Session | undefined;
  private readonly running = new Set<Promise<void>>();
  private ended = false;
  private draining = false;
  private readonly lines: LineWriter;
  private finish!: () => void;

  constructor(
    private readonly core: TransportCore,
    private readonly options: StdioOptions,
  ) {
    this.served = new Promise((resolve) => (this.finish = resolve));
    const { input, output } = options;
    this.lines = new LineWriter(output, () => this.full());
    const maxLineBytes = options.maxLineBytes ?? core.maxBodyBytes;
    const splitter = new LineSplitter(
      maxLineBytes,
      (line) => this.receive(line),
      () => this.refuse(null, `Invalid Request: a message longer than ${maxLineBytes} bytes was skipped`),
    );
    input.on('data', (chunk: Buffer | string) => splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    input.once('end', () => {
      splitter.end();
      this.end();
    });
    input.once('close', () => this.end());
    input.once('error', () => this.end());
    output.once('error', () => this.end());
    output.once('close', () => this.end());
  }

  /** Writes a JSON-RPC error line (-32600 unless `code` says otherwise). */
  private refuse(id: RequestId | null, message: string, code: number = JsonRpcCode.InvalidRequest): void {
    this.write(errorFrame(id, new JsonRpcError(code, message)));
  }

  /** Writes one message line; the lines of one turn of the event loop go out in one write (`LineWriter`). */
  write(frame: string): void {
    const { output } = this.options;
    if (output.destroyed || output.writableEnded) return;
    this.lines.write(frame);
  }

  /** `output` is full: `input` is held back until it drains. */
  private full(): void {
    if (this.draining) return;
    const { input, output } = this.options;
    this.draining = true;
    input.pause();
    output.once('drain', () => {
      this.draining = false;
      if (!this.ended) input.resume();
    });
  }

  /** Everything is answered and `input` is over: what is still queued goes out before `served` resolves. */
  private done(): void {
    this.lines.flush();
    this.finish();
  }

  private receive(line: string): void {
    if (this.ended) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return this.refuse(null, 'Parse error: a line is not JSON', JsonRpcCode.ParseError);
    }
    if (Array.isArray(value)) return this.batch(value);
    const message = classify(value);
    if (message.kind === 'request' && message.method === 'initialize') return this.initialize(message);
    const session = this.session;
    if (session === undefined) {
      if (message.kind === 'request') {
        if (message.method === 'ping') return this.write(resultFrame(message.id, {}));
        return this.refuse(message.id, 'Invalid Request: send initialize first');
      }
      if (message.kind === 'invalid') this.write(errorFrame(message.id, message.error));
      return; // a notification or response before initialize refers to nothing
    }
    const reply = new LineAnswer(this, false);
    reply.expect();
    this.handle(session, message, reply);
  }

  /** A JSON array: JSON-RPC batching, part of protocol 2025-03-26 only (removed in 2025-06-18). */
  private batch(values: unknown[]): void {
    const session = this.session;
    const version = session?.version;
    if (values.length === 0) return this.refuse(null, 'Invalid Request: empty batch');
    if (session === undefined || version !== '2025-03-26') {
      const why = session === undefined ? 'send initialize first, on its own' : `JSON-RPC batches are not part of protocol version ${version}`;
      return this.refuse(null, `Invalid Request: ${why}`);
    }
    const reply = new LineAnswer(this, true);
    const messages: Message[] = values.map(classify);
    for (const message of messages) if (message.kind === 'request' || message.kind === 'invalid') reply.expect();
    for (const message of messages) this.handle(session, message, reply);
  }

  /** Handles one message of the session (see `handleInSession`); a running request is tracked until it settles. */
  private handle(session: Session, message: Message, reply: LineAnswer): void {
    const running = handleInSession(this.core, session, this.options.auth, message, reply);
    if (running !== undefined) this.track(running);
  }

  private initialize(request: Request): void {
    if (this.session !== undefined) {
      return this.refuse(request.id, 'Invalid Request: this connection is initialized already');
    }
    let asked: ReturnType<typeof negotiate>;
    try {
      asked = negotiate(request.params);
    } catch (error) {
      return this.write(errorFrame(request.id, error as JsonRpcError));
    }
    const { auth } = this.options;
    const session = new Session(randomBytes(18).toString('base64url'), auth.subject, auth.clientId, asked.version, Date.now());
    session.capabilities = asked.capabilities;
    session.push = (frame) => this.write(frame);
    this.session = session;
    this.write(resultFrame(request.id, initializeResult(this.core, asked.version)));
  }

  private track(running: Promise<void>): void {
    this.running.add(running);
    void running.finally(() => {
      this.running.delete(running);
      if (this.ended && this.running.size === 0) this.done();
    });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.session !== undefined) this.core.sessions.forget(this.session);
    if (this.running.size === 0) this.done();
  }
}

/**
 * The answer to one line: a request's response goes out as its own line when ready, a batch's responses
 * as one array line once all are ready. Lines go out as they come, so nothing is ever "not started".
 */
class LineAnswer implements Answer {
  private pending = 0;
  private parts: string[] | undefined;
  private finished = false;
  readonly started = true;

  constructor(
    private readonly connection: StdioConnection,
    private readonly batch: boolean,
  ) {}

  expect(): void {
    this.pending++;
  }

  emit(message: string): boolean {
    if (this.finished) return false;
    this.connection.write(message);
    return true;
  }

  reply(frame: string | undefined): void {
    if (this.finished) return;
    this.pending--;
    if (frame !== undefined) {
      if (this.batch) (this.parts ??= []).push(frame);
      else this.connection.write(frame);
    }
    if (this.pending > 0) return;
    this.finished = true;
    if (this.parts !== undefined) this.connection.write(`[${this.parts.join(',')}]`);
  }

  abandon(): void {
    this.finished = true;
  }

  /** Nothing to watch per request: the connection's end cancels every running request (see the module comment). */
  onGone(): void {}

  /** There is no connection to end but the whole one. */
  disconnect(): void {}
}
