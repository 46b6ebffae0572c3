/**
 * Newline-delimited framing going out (the other half of `line-splitter.ts`): the lines written in one turn
 * of the event loop go to the stream in one write, at the end of that turn (`setImmediate`). Each write to a
 * pipe wakes the process reading it, and on this project's 2-core machine that wake-up was the largest cost
 * per message over stdio (profiled: a fifth of the gateway's CPU with one write per message).
 */
import type { Writable } from 'node:stream';

interface Waiter {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Writes lines to `out`, those of one turn of the event loop together.
 *
 * @example
 * const lines = new LineWriter(child.stdin, () => log.debug('stdin is full'));
 * lines.write('{"jsonrpc":"2.0","id":1,"method":"ping"}');
 * await lines.taken(); // the pipe took it (after a `drain` if it was full)
 */
export class LineWriter {
  #queued: string[] | undefined;
  /** Made only when someone asks (`taken`) what becomes of the queued lines. */
  #waiter: Waiter | undefined;

  /** `onFull` is called when a write leaves `out` full (wait for its `drain` before giving it more). */
  constructor(
    private readonly out: Writable,
    private readonly onFull: () => void = () => {},
  ) {}

  /** Queues lines, each without a line break; they go out at the end of this turn of the event loop. */
  write(...lines: string[]): void {
    if (this.#queued === undefined) {
      this.#queued = [];
      setImmediate(() => this.flush());
    }
    this.#queued.push(...lines);
  }

  /**
   * Resolves once the lines queued so far were taken by `out` (after its `drain` when the write filled it),
   * at once when none are queued; rejects when `out` is gone before it took them.
   */
  taken(): Promise<void> {
    if (this.#queued === undefined) return Promise.resolve();
    if (this.#waiter === undefined) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      this.#waiter = { promise, resolve, reject };
    }
    return this.#waiter.promise;
  }

  /** Writes what is queued now, without waiting for the end of the turn (before a stream is ended, say). */
  flush(): void {
    const lines = this.#queued;
    const waiter = this.#waiter;
    this.#queued = undefined;
    this.#waiter = undefined;
    if (lines === undefined) return;
    const out = this.out;
    if (out.destroyed || out.writableEnded) return waiter?.reject(new Error('the stream closed before it took the lines'));
    if (out.write(`${lines.join('\n')}\n`)) return waiter?.resolve();
    this.onFull();
    if (waiter === undefined) return;
    const done = (error?: Error): void => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      if (error) waiter.reject(error);
      else waiter.resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('the stream closed before it took the lines'));
    out.once('drain', onDrain);
    out.once('close', onClose);
  }
}
