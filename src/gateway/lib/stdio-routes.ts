/**
 * Where each message a stdio server writes goes, for one session (spec 2025-11-25, basic/transports,
 * "Sending Messages to the Server" and "Listening for Messages from the Server"). A stdio server says
 * nothing about which request a message belongs with, except for responses (their `id`) and progress
 * (its `progressToken`), so:
 *
 * 1. a response goes to the POST stream of the request with its id, and that stream ends once every
 *    request of its POST is answered; a response nobody waits for (its client went away) is dropped;
 * 2. a `notifications/progress` goes to the stream of the request that asked for it with its
 *    `progressToken`, while that request is unanswered; otherwise it is dropped;
 * 3. anything else (logging, list-changed and resource-updated notifications, the server's own requests:
 *    sampling, elicitation, roots, ping) goes to the oldest open POST stream, the request that has run
 *    longest and so most likely asked; with no POST stream open, to the standalone GET stream; with none
 *    open either, to a buffer (at most {@link BUFFER_BYTES}, oldest dropped first) that the next GET
 *    stream receives first.
 *
 * A lone request whose first message is its response is answered with JSON instead (one write to the
 * client, nothing to frame or split), as Portcullis's own core answers.
 *
 * Streams carry `data:` events only, without ids: the stdio backend keeps no history to resume from, so
 * clients are given nothing to resume with (`Last-Event-ID`).
 */
import { PassThrough, type Readable } from 'node:stream';
import { JsonRpcCode, JsonRpcError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { errorFrame, type Message, type Params, type Request, type RequestId } from '../../mcp/jsonrpc.js';
import type { BackendRequest } from '../backend.js';

/** Messages held for a GET stream that is not open: at most this many bytes of JSON. */
const BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * One SSE response body, made when first needed: a POST answered with JSON never needs one, and making
 * and destroying a stream it would not use cost about 4 µs per call (measured on Node 20).
 */
class EventStream {
  #body: PassThrough | undefined;
  #discarded = false;
  /** Called once when the stream is over: its body closed, or it was discarded before it had one. */
  onClose: () => void = () => {};

  get body(): PassThrough {
    if (this.#body === undefined) {
      this.#body = new PassThrough({ highWaterMark: 64 * 1024 });
      if (this.#discarded) this.#body.destroy();
      else this.#body.once('close', () => this.onClose());
    }
    return this.#body;
  }

  get open(): boolean {
    return !this.#discarded && (this.#body === undefined || (!this.#body.destroyed && !this.#body.writableEnded));
  }

  /** Writes one event; false when the reader is behind (wait for `drain`). */
  send(json: string): boolean {
    return this.open ? this.body.write(`data: ${json}\n\n`) : true;
  }

  end(): void {
    if (this.open) this.body.end();
  }

  /** Nobody will read it (answered with JSON, or its client went away): its body, if any, is destroyed. */
  discard(): void {
    if (this.#discarded) return;
    this.#discarded = true;
    if (this.#body !== undefined) this.#body.destroy();
    else this.onClose();
  }
}

/**
 * The stream of one POST: its requests still unanswered, each with the progress token it asked with. How
 * the POST is answered is settled by its first message: a lone request (not in a batch) whose first
 * message is its response is answered with that response as JSON, and this stream is never read;
 * anything else makes the answer this SSE stream.
 */
class PostStream extends EventStream {
  readonly ids = new Map<RequestId, string | number | undefined>();
  /** Resolves at the first message: the lone response's JSON, or undefined for the SSE stream. */
  readonly first: Promise<string | undefined>;
  #decide!: (alone: string | undefined) => void;
  #decided = false;

  constructor(readonly lone: boolean) {
    super();
    this.first = new Promise((resolve) => (this.#decide = resolve));
  }

  /** Whether the first message is still to come. */
  get undecided(): boolean {
    return !this.#decided;
  }

  decide(alone: string | undefined): void {
    if (this.#decided) return;
    this.#decided = true;
    this.#decide(alone);
  }

  override send(json: string): boolean {
    this.decide(undefined);
    return super.send(json);
  }

  override end(): void {
    this.decide(undefined);
    super.end();
  }
}

/** How a POST with requests is answered (see {@link PostStream}). */
export interface PostAnswer {
  /** The SSE body, when `alone` resolves to undefined (made when first asked for). */
  readonly body: Readable;
  /** The lone request's response as JSON when it came first; undefined: the answer is `body`. */
  readonly alone: Promise<string | undefined>;
}

/** What the routes need of their session. */
export interface StdioRoutesOptions {
  readonly logger: Logger;
  /** Holds back (true) or releases (false) the process's stdout: a reader is behind. */
  readonly pause: (paused: boolean) => void;
  /** A stream closed: the session was used just now. */
  readonly touch: () => void;
}

/**
 * @example
 * const routes = new StdioRoutes({ logger, pause: (paused) => child.pause(paused), touch });
 * const { body, alone } = routes.openPost(requests, exchange.onAbandon, true); // JSON (`await alone`) or the SSE body
 * routes.deliver(message, json);           // each message the process writes
 */
export class StdioRoutes {
  readonly #requests = new Map<RequestId, PostStream>();
  readonly #progress = new Map<string | number, PostStream>();
  /** Open POST streams, oldest first (a Set iterates in insertion order). */
  readonly #posts = new Set<PostStream>();
  #standalone: EventStream | undefined;
  #buffer: string[] = [];
  #buffered = 0;
  #dropped = 0;
  readonly #behind = new Set<EventStream>();

  constructor(private readonly options: StdioRoutesOptions) {}

  /** Whether a stream is open (a session streaming is not idle). */
  get streaming(): boolean {
    return this.#posts.size > 0 || this.#standalone !== undefined;
  }

  /** Whether a request with this id is unanswered (a client may not reuse the id yet). */
  pending(id: RequestId): boolean {
    return this.#requests.has(id);
  }

  /**
   * Opens the stream that answers a POST carrying `requests` (at least one; `lone`: one request, not in a
   * batch, which may be answered with JSON). When the exchange is abandoned (the client went away) the stream is
   * forgotten at once and its body destroyed; answers still due are dropped.
   */
  openPost(requests: readonly Request[], onAbandon: BackendRequest['onAbandon'], lone: boolean): PostAnswer {
    const stream = new PostStream(lone && requests.length === 1);
    for (const request of requests) {
      const token = progressToken(request.params?.['_meta']);
      stream.ids.set(request.id, token);
      this.#requests.set(request.id, stream);
      if (token !== undefined) this.#progress.set(token, stream);
    }
    this.#posts.add(stream);
    this.#watch(stream, onAbandon);
    return {
      get body() {
        return stream.body;
      },
      alone: stream.first,
    };
  }

  /** Opens the standalone stream, starting with what was buffered for it; undefined when one is open. */
  openStandalone(onAbandon: BackendRequest['onAbandon']): Readable | undefined {
    if (this.#standalone !== undefined) return undefined;
    const stream = new EventStream();
    this.#standalone = stream;
    this.#watch(stream, onAbandon);
    const buffered = this.#buffer;
    this.#buffer = [];
    this.#buffered = 0;
    if (this.#dropped > 0) this.options.logger.warn({ dropped: this.#dropped }, 'stdio backend: messages for the GET stream were dropped (buffer full)');
    this.#dropped = 0;
    for (const json of buffered) this.#write(stream, json);
    return stream.body;
  }

  /** Routes one message the process wrote (see the module comment). */
  deliver(message: Message, json: string): void {
    if (message.kind === 'response') {
      const stream = this.#requests.get(message.id);
      if (stream === undefined) return this.options.logger.debug({ id: message.id }, 'stdio backend: a response nobody waits for was dropped');
      if (stream.lone && stream.undecided) {
        // Answered as JSON: the stream is never read; discarding it retires it (`#closed`, which counts as
        // the session's use).
        stream.decide(json);
        stream.discard();
        return;
      }
      this.#write(stream, json);
      this.#settle(stream, message.id);
      return;
    }
    if (message.kind === 'notification' && message.method === 'notifications/progress') {
      // Progress means something only to the request that asked for it, while it runs (spec 2025-11-25,
      // basic/utilities/progress): for a request answered, cancelled or abandoned, it goes nowhere.
      const token = progressToken(message.params);
      const stream = token === undefined ? undefined : this.#progress.get(token);
      if (stream !== undefined) return this.#write(stream, json);
      return this.options.logger.debug({ token }, 'stdio backend: progress for no running request was dropped');
    }
    const oldest = this.#posts.values().next().value;
    if (oldest !== undefined) return this.#write(oldest, json);
    if (this.#standalone !== undefined) return this.#write(this.#standalone, json);
    this.#hold(json);
  }

  /** The client cancelled a request (`notifications/cancelled`): no answer is to be awaited for it. */
  cancel(id: RequestId): void {
    const stream = this.#requests.get(id);
    if (stream !== undefined) this.#settle(stream, id);
  }

  /**
   * The process is gone: every unanswered request gets a JSON-RPC error (-32603) with `message`, and every
   * stream ends (cleanly: the client sees the end of a response, not a broken connection).
   */
  failAll(message: string): void {
    const error = new JsonRpcError(JsonRpcCode.InternalError, message);
    for (const stream of [...this.#posts]) {
      for (const id of stream.ids.keys()) stream.send(errorFrame(id, error));
      this.#retire(stream);
    }
    if (this.#standalone !== undefined) this.#retire(this.#standalone);
  }

  /** One request of `stream` is answered (or cancelled); the stream ends with its last one. */
  #settle(stream: PostStream, id: RequestId): void {
    const token = stream.ids.get(id);
    stream.ids.delete(id);
    this.#requests.delete(id);
    if (token !== undefined && this.#progress.get(token) === stream) this.#progress.delete(token);
    if (stream.ids.size === 0) this.#retire(stream);
  }

  #write(stream: EventStream, json: string): void {
    if (stream.send(json) || this.#behind.has(stream)) return;
    // The reader is behind: hold the process back until it caught up (one client per process, so only
    // that client waits).
    this.#behind.add(stream);
    if (this.#behind.size === 1) this.options.pause(true);
    stream.body.once('drain', () => this.#caughtUp(stream));
  }

  #caughtUp(stream: EventStream): void {
    if (this.#behind.delete(stream) && this.#behind.size === 0) this.options.pause(false);
  }

  #hold(json: string): void {
    this.#buffer.push(json);
    this.#buffered += json.length;
    while (this.#buffered > BUFFER_BYTES && this.#buffer.length > 0) {
      this.#buffered -= this.#buffer.shift()!.length;
      this.#dropped++;
    }
  }

  /**
   * Ends a stream and forgets it, at once: nothing more is routed to it even while its reader still
   * reads what it holds (answers still due for it are dropped).
   */
  #retire(stream: EventStream): void {
    stream.end();
    if (stream instanceof PostStream) {
      this.#posts.delete(stream);
      for (const [id, token] of stream.ids) {
        if (this.#requests.get(id) === stream) this.#requests.delete(id);
        if (token !== undefined && this.#progress.get(token) === stream) this.#progress.delete(token);
      }
      stream.ids.clear();
    } else if (this.#standalone === stream) {
      this.#standalone = undefined;
    }
  }

  #watch(stream: EventStream, onAbandon: BackendRequest['onAbandon']): void {
    stream.onClose = () => this.#closed(stream);
    onAbandon(() => {
      this.#retire(stream);
      stream.discard();
    });
  }

  /** A stream is over: it ended and was read, or its reader went away. */
  #closed(stream: EventStream): void {
    this.#retire(stream);
    this.#caughtUp(stream);
    this.options.touch();
  }
}

/** The `progressToken` of a request's `_meta`, or of a progress notification's params. */
function progressToken(value: unknown): string | number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const token = (value as Params)['progressToken'];
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}
