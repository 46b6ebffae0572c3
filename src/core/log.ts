import pino, { type Logger } from 'pino';

/**
 * What one request did, filled in as it passes the layers and logged once when the response finishes.
 * Never holds a token: layers put the verified subject and client here, nothing raw.
 *
 * A class with every field declared (unset ones stay `undefined`, which pino leaves out), so that every
 * record has the same shape and the access log line is this object itself, not a merged copy.
 */
export class RequestLog {
  /** `METHOD /path`, without the query string. */
  request?: string;
  /** HTTP status of the response. */
  status?: number;
  /** Latency in milliseconds, from the request's arrival to the response's end. */
  ms?: number;
  subject?: string;
  client?: string;
  /** JSON-RPC method (`tools/call`, …) or REST operation. */
  method?: string;
  /** Tool name, prompt name or resource URI the method addressed. */
  target?: string;
  /** `allow`, or the refusal: `no_token`, `invalid_token`, `insufficient_scope`, `unavailable`, `bad_request`, … */
  decision?: string;
  session?: string;
  /** The connection closed before the response was complete. */
  aborted?: true;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Lines are handed to the writer in batches of at least this many characters… */
const BATCH_CHARS = 16 * 1024;
/** …or after this long, whichever comes first. */
const FLUSH_MS = 100;

/**
 * Standard output, written in batches: the lines of every logger of the process, concatenated in order
 * and handed to pino's asynchronous destination (sonic-boom: writes on the thread pool, deals with
 * partial writes and `EAGAIN`, never blocks the event loop) once they reach {@link BATCH_CHARS}, at
 * least every {@link FLUSH_MS}, and when the process exits.
 *
 * Measured (server CPU per authenticated `tools/call`): a `write(2)` per line cost 25–35 µs; sonic-boom's
 * own batching (`minLength: 4096`) about 5 µs more than this, because for every line it measures the
 * whole pending buffer again (a copy that grows with the batch) and each 4 KiB write is a round trip
 * through the thread pool.
 */
class BatchedStdout {
  #pending = '';
  readonly #out: ReturnType<typeof pino.destination>;

  constructor() {
    this.#out = pino.destination({ dest: 1, sync: false });
    setInterval(() => this.flush(), FLUSH_MS).unref();
    // pino ends the destination once the event loop is empty and, on exit, writes synchronously what it
    // still holds; lines pending here have to reach it in both cases.
    process.once('beforeExit', () => this.flush());
    process.once('exit', () => {
      if (this.#pending === '') return;
      try {
        this.flush();
        this.#out.flushSync();
      } catch {
        // the destination was already ended (lines logged after the event loop emptied): nothing to do
      }
    });
  }

  write(line: string): boolean {
    this.#pending += line;
    if (this.#pending.length >= BATCH_CHARS) this.flush();
    return true;
  }

  /** Hands what is pending to the destination now (pino's `logger.flush()` calls this too). */
  flush(done?: (error?: Error) => void): void {
    if (this.#pending !== '') {
      const lines = this.#pending;
      this.#pending = '';
      this.#out.write(lines);
    }
    done?.();
  }
}

let stdout: BatchedStdout | undefined;

/**
 * The process logger: JSON lines on stdout, `time` in epoch milliseconds. Every logger shares one
 * batched writer, so lines keep their order and reach stdout about 100 ms late at most.
 *
 * `to: 'stderr'` is for a process whose stdout is a protocol (an MCP server over stdio): lines go to
 * stderr as they are logged, unbatched (such a process logs little).
 */
export function createLogger(level: LogLevel, to: 'stdout' | 'stderr' = 'stdout'): Logger {
  if (to === 'stderr') return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
  stdout ??= new BatchedStdout();
  return pino({ level, base: undefined }, stdout);
}

export type { Logger };
