/**
 * One gateway session of the stdio backend: one process at a time, supervised.
 *
 * The client's `initialize` starts the first process. When a process exits on its own (crash, `exit`),
 * its unanswered requests get a JSON-RPC error naming the exit code or signal and its streams end
 * (`StdioRoutes.failAll`); nothing is restarted then. The next POST of the session starts a new process,
 * replays the session's original `initialize` params under an id of the gateway's own
 * (`portcullis-replay-N`), sends `notifications/initialized`, and only then forwards the client's
 * messages, so the client goes on without initializing again. What the old process held beyond that
 * (log level, resource subscriptions, pending server-to-client requests) is gone with it.
 *
 * Crash loops are bounded: restarts happen only on demand (a POST; never on a timer, never on a GET a
 * client reopens by itself), one at a time per session, and each waits out a backoff that doubles with
 * every consecutive failure (`restart.initialMs` up to `restart.maxMs`, counted from the last exit);
 * the count resets when a process answers one of the client's requests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/log.js';
import { notificationFrame, requestFrame, type Message, type Params, type Request, type RequestId, type Response } from '../../mcp/jsonrpc.js';
import { signalOf, type BackendRequest } from '../backend.js';
import { StdioRoutes, type PostAnswer } from './stdio-routes.js';
import { describeExit, StdioProcess, type ProcessExit } from './stdio-process.js';

/** What every session of a backend shares: the command and the limits, already validated. */
export interface StdioSessionConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly logger: Logger;
  readonly maxLineBytes: number;
  readonly startTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly restart: { readonly initialMs: number; readonly maxMs: number };
  readonly now: () => number;
}

/** The process is gone: what a waiter for its answer hears. */
class ProcessExited extends Error {
  override readonly name = 'ProcessExited';
}

/** Rejects with a signal's reason once one of them aborts (the client went away, a timeout, the session ended). */
function abortable<T>(promise: Promise<T>, ...signals: AbortSignal[]): Promise<T> {
  const aborted = signals.find((signal) => signal.aborted);
  if (aborted !== undefined) return Promise.reject(aborted.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (event: Event): void => reject((event.target as AbortSignal).reason);
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    });
  });
}

/** Resolves once `promise` settled (however it did); rejects when the exchange is abandoned first. */
function unlessAbandoned(promise: Promise<unknown>, onAbandon: BackendRequest['onAbandon']): Promise<void> {
  return new Promise((resolve, reject) => {
    promise.then(() => resolve(), () => resolve());
    onAbandon(() => reject(new Error('the exchange was abandoned')));
  });
}

interface Started {
  readonly child: StdioProcess;
  readonly response: Response;
  /** The response's JSON, as the process wrote it. */
  readonly json: string;
}

/**
 * @example
 * const session = new StdioSession(config, 1);
 * const { json } = await session.open(initialize, line, signal); // the process's initialize response
 * const answer = await session.forward(lines, requests, exchange.onAbandon, true); // a POST with requests: JSON or SSE
 */
export class StdioSession {
  readonly routes: StdioRoutes;
  /** Last use (ms): an exchange began or ended, or one of its streams ended. */
  lastSeen: number;
  /** The protocol version the process agreed to in `initialize`. */
  protocolVersion: string | undefined;
  /** Exchanges under way (starting a process, writing to it): a session doing one is not idle. */
  #exchanges = 0;
  #process: StdioProcess | undefined;
  #starting: Promise<StdioProcess> | undefined;
  #initialize: Params | undefined;
  #waiters = new Map<RequestId, { resolve: (answer: { response: Response; json: string }) => void; reject: (error: Error) => void }>();
  #failures = 0;
  #lastExitAt = 0;
  #lastExit = 'not started';
  #replays = 0;
  /** Aborted when the session is stopped: a restart waiting out its backoff gives up. */
  readonly #ended = new AbortController();
  readonly #logger: Logger;

  constructor(
    private readonly config: StdioSessionConfig,
    readonly tag: number,
  ) {
    this.#logger = config.logger.child({ stdioSession: tag });
    this.lastSeen = config.now();
    this.routes = new StdioRoutes({ logger: this.#logger, pause: (paused) => this.#process?.pause(paused), touch: () => (this.lastSeen = config.now()) });
  }

  /** Whether the session is in use: an exchange under way, or a stream open. */
  get busy(): boolean {
    return this.#exchanges > 0 || this.routes.streaming;
  }

  /** The running process's pid, if one runs. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /**
   * Starts the first process and runs the client's `initialize` (`json`, its line) through it. Resolves
   * with the process's response; rejects when the command cannot start or exits or stays silent first.
   */
  async open(request: Request, json: string, signal: AbortSignal): Promise<{ response: Response; json: string }> {
    this.#exchanges++;
    try {
      const { response, json: answer } = await this.#start(request.id, json, signal);
      if (response.error === undefined) {
        this.#initialize = request.params ?? {};
        const result = response.result as Record<string, unknown> | undefined;
        this.protocolVersion = typeof result?.['protocolVersion'] === 'string' ? result['protocolVersion'] : undefined;
      }
      return { response, json: answer };
    } finally {
      this.#used();
    }
  }

  /**
   * Writes the client's messages (one line each), restarting the process first when it is gone. For a
   * POST with requests, `requests` opens the stream that answers them, registered before anything is
   * written so that no answer can come before it. Without requests (notifications, answers to the
   * server's requests) nothing is restarted: what they refer to went with the process, so they are dropped.
   */
  async forward(lines: readonly string[], requests: readonly Request[] | undefined, onAbandon: BackendRequest['onAbandon'], lone: boolean): Promise<PostAnswer | undefined> {
    this.#exchanges++;
    try {
      if (requests === undefined && (this.#process === undefined || this.#process.finished) && this.#starting === undefined) {
        this.#logger.debug({ messages: lines.length }, 'stdio backend: messages for a process that is gone were dropped');
        return undefined;
      }
      // The process runs (the usual case): no wait, so nothing to abandon.
      const running = this.#process !== undefined && !this.#process.finished ? this.#process : undefined;
      const child = running ?? (await abortable(this.#running(), signalOf({ onAbandon })));
      // No turn of the event loop since `child` was found alive, unless it finished while it started.
      const body = requests === undefined ? undefined : this.routes.openPost(requests, onAbandon, lone);
      if (child.finished) this.routes.failAll(`Internal error: the backend MCP server exited (${this.#lastExit}) before answering`);
      // A process gone meanwhile answered the requests through its exit, and takes no lines. A client gone
      // meanwhile took its stream with it (`openPost`).
      if (body !== undefined) {
        // Requests: their answers wait for the process to read them anyway, so waiting for the pipe here
        // would only delay the stream (and cost promises and a listener on the client's connection).
        child.send(...lines);
        return body;
      }
      // Only notifications or responses: the 202 waits until the pipe took them (backpressure).
      await unlessAbandoned(child.write(...lines), onAbandon);
      return undefined;
    } finally {
      this.#used();
    }
  }

  /** Stops the session for good: in-flight requests get an error, the process is stopped (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    this.#ended.abort(new Error('the stdio backend session was ended'));
    this.routes.failAll('Internal error: the session was ended before the backend MCP server answered');
    await this.#process?.stop(this.config.stopGraceMs);
    // A start under way sees the session ended and stops what it spawned.
    await this.#starting?.catch(() => undefined);
  }

  /** An exchange is over: the session was used just now. */
  #used(): void {
    this.#exchanges--;
    this.lastSeen = this.config.now();
  }

  #running(): Promise<StdioProcess> {
    if (this.#process !== undefined && !this.#process.finished) return Promise.resolve(this.#process);
    this.#starting ??= this.#restart().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #restart(): Promise<StdioProcess> {
    const ended = this.#ended.signal;
    ended.throwIfAborted();
    const { initialMs, maxMs } = this.config.restart;
    const backoff = this.#failures === 0 ? 0 : Math.min(maxMs, initialMs * 2 ** (this.#failures - 1));
    const wait = backoff - (this.config.now() - this.#lastExitAt);
    if (wait > 0) await sleep(wait, undefined, { signal: ended });
    const id = `portcullis-replay-${++this.#replays}`;
    const { child, response } = await this.#start(id, requestFrame(id, 'initialize', this.#initialize ?? {}), ended);
    if (response.error !== undefined) {
      this.#failed();
      await this.#discard(child);
      throw new Error(`the stdio backend refused the replayed initialize (JSON-RPC error ${response.error.code})`);
    }
    await child.write(notificationFrame('notifications/initialized', undefined));
    this.#logger.info({ pid: child.pid, failures: this.#failures }, 'stdio backend: process restarted, session initialize replayed');
    return child;
  }

  /** Spawns a process and waits for its answer to the initialize request `id` (within the start timeout). */
  async #start(id: RequestId, json: string, signal: AbortSignal): Promise<Started> {
    let child: StdioProcess;
    try {
      child = await StdioProcess.spawn({
        command: this.config.command,
        args: this.config.args,
        env: this.config.env,
        cwd: this.config.cwd,
        maxLineBytes: this.config.maxLineBytes,
        logger: this.#logger,
        onMessage: (message, line) => this.#message(message, line),
        onExit: (exit) => this.#exited(child, exit),
      });
    } catch (error) {
      this.#failed();
      throw error;
    }
    this.#process = child;
    const timeout = AbortSignal.timeout(this.config.startTimeoutMs);
    const answer = new Promise<{ response: Response; json: string }>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
    answer.catch(() => undefined); // an exit may reject it before it is awaited
    try {
      this.#ended.signal.throwIfAborted();
      await child.write(json);
      return { child, ...(await abortable(answer, signal, timeout, this.#ended.signal)) };
    } catch (error) {
      this.#waiters.delete(id);
      // An exit was counted as a failure when it was noticed; a start that timed out counts here.
      if (error instanceof ProcessExited) throw error;
      if (timeout.aborted) this.#failed();
      await this.#discard(child);
      if (timeout.aborted) throw new Error(`the stdio backend command ${JSON.stringify(this.config.command)} did not answer initialize within ${this.config.startTimeoutMs} ms`);
      throw error;
    }
  }

  /** Stops a process this session gave up on; its exit is expected, so it counts as no failure. */
  async #discard(child: StdioProcess): Promise<void> {
    if (this.#process === child) this.#process = undefined;
    await child.stop(this.config.stopGraceMs);
  }

  #message(message: Message, json: string): void {
    if (message.kind === 'response') {
      const waiter = this.#waiters.get(message.id);
      if (waiter !== undefined) {
        this.#waiters.delete(message.id);
        return waiter.resolve({ response: message, json });
      }
      // The process answered one of the client's requests: it is healthy, the backoff starts over.
      this.#failures = 0;
    }
    this.routes.deliver(message, json);
  }

  #exited(child: StdioProcess, exit: ProcessExit): void {
    if (this.#process !== child) return;
    this.#process = undefined;
    this.#lastExit = describeExit(exit);
    const error = new ProcessExited(`the stdio backend command ${JSON.stringify(this.config.command)} exited (${this.#lastExit}) before answering initialize`);
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
    this.routes.failAll(`Internal error: the backend MCP server exited (${this.#lastExit}) before answering`);
    if (this.#ended.signal.aborted) return;
    this.#failed();
    this.#logger.warn({ pid: child.pid, exit: this.#lastExit, failures: this.#failures }, 'stdio backend: process exited; the next request restarts it');
  }

  #failed(): void {
    this.#failures++;
    this.#lastExitAt = this.config.now();
  }
}
