/**
 * Server-Sent Events streams with resumption (spec 2025-11-25, transports: "Resumability and
 * Redelivery", and SEP-1699 polling).
 *
 * Every event carries an id `<stream>_<seq>`: the stream number (0 for the session's standalone GET
 * stream, 1, 2, … for POST streams) and a sequence number within it, so a `Last-Event-ID` names the stream
 * to resume and the point to resume from, and ids are unique across the session's streams. A stream keeps
 * the events it sent (bounded) until it is complete and delivered, so a client whose connection dropped
 * (or was closed by the server to make it poll) can reconnect with GET + `Last-Event-ID` and receive the
 * rest, on that stream only.
 */
import type { ServerResponse } from 'node:http';

/** Headers of every SSE response. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

/** Parses `Last-Event-ID` into the stream and sequence it names; undefined when it is not one of ours. */
export function parseEventId(header: string | undefined): { stream: number; seq: number } | undefined {
  if (header === undefined) return undefined;
  const match = /^(\d{1,9})_(\d{1,12})$/.exec(header.trim());
  return match === null ? undefined : { stream: Number(match[1]), seq: Number(match[2]) };
}

export class Stream {
  /** The live connection, when one is attached. */
  private res: ServerResponse | undefined;
  private seq = 0;
  /** Sequence number of `events[0]`. */
  private first = 1;
  private events: string[] = [];
  /** No more events will be sent (the response of a POST stream went out). */
  done = false;

  /**
   * @param key stream number within the session
   * @param limit how many events to keep for replay (older ones are dropped)
   * @param retryMs the `retry` field of the priming event: how long a client waits before reconnecting
   */
  constructor(
    readonly key: number,
    private readonly limit: number,
    private readonly retryMs: number,
  ) {}

  get connected(): boolean {
    return this.res !== undefined && !this.res.destroyed;
  }

  /**
   * Attaches a new connection: writes the headers and, for a new stream, the priming event (an id and an
   * empty `data`, spec 2025-11-25 transports §"Sending Messages to the Server" 6), or for a resumption the
   * events after `after`. A previously attached connection is ended.
   */
  attach(res: ServerResponse, headers: Readonly<Record<string, string>>, after?: number): void {
    if (this.res !== undefined && this.res !== res) this.res.end();
    this.res = res;
    res.writeHead(200, { ...headers, ...SSE_HEADERS });
    if (after === undefined) {
      res.write(`id: ${this.key}_${this.seq}\nretry: ${this.retryMs}\ndata: \n\n`);
    } else {
      res.write(`retry: ${this.retryMs}\n\n`);
      for (let i = Math.max(0, after + 1 - this.first); i < this.events.length; i++) res.write(this.events[i]!);
    }
    if (this.done) this.end();
  }

  /** Detaches the connection, if it is `res` (the stream lives on for a resumption). */
  detach(res: ServerResponse): void {
    if (this.res === res) this.res = undefined;
  }

  /** Sends one JSON-RPC message as an event (kept for replay). */
  send(message: string): void {
    const frame = `id: ${this.key}_${++this.seq}\ndata: ${message}\n\n`;
    this.events.push(frame);
    if (this.events.length > this.limit) {
      this.events.shift();
      this.first++;
    }
    if (this.res !== undefined && !this.res.destroyed) this.res.write(frame);
  }

  /**
   * Writes an SSE comment on the live connection: keeps proxies from timing out an idle stream, and a
   * connection that died without a FIN fails the write and is noticed.
   */
  ping(): void {
    if (this.res !== undefined && !this.res.destroyed) this.res.write(': ping\n\n');
  }

  /** Ends the current connection without ending the stream (the client is expected to reconnect). */
  disconnect(): void {
    const res = this.res;
    this.res = undefined;
    res?.end();
  }

  /**
   * Marks the stream complete and ends its connection. Returns whether the end went out on a live
   * connection (then nothing is left to replay and the stream can be forgotten).
   */
  finish(): boolean {
    this.done = true;
    return this.end();
  }

  private end(): boolean {
    const res = this.res;
    this.res = undefined;
    if (res === undefined || res.destroyed) return false;
    res.end();
    return true;
  }

  /** Ends the connection for good (session over, server closing). */
  close(): void {
    this.done = true;
    this.events = [];
    this.end();
  }
}
