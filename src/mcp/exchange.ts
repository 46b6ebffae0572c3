/**
 * The answer to one POST: JSON by default, switched to an SSE stream only when a handler sends something
 * before its result (spec 2025-11-25 transports §"Sending Messages to the Server" 5–6).
 *
 * A plain request/response costs one `writeHead` and one `end` with an exact `Content-Length`, made with
 * the other answers of the event loop's turn at its end (`endAtTurnEnd`, src/core/turn-end.ts). The first
 * notification or server-to-client request upgrades the answer: the headers go out as
 * `text/event-stream`, then a priming event, then every message (the responses included) as an event,
 * and the stream ends once every request of the POST has its response.
 */
import type { ServerResponse } from 'node:http';
import { endAtTurnEnd } from '../core/turn-end.js';
import type { Answer } from './requests.js';
import type { Session } from './session.js';
import { Stream } from './sse.js';

/** Streams a session keeps for resumption; beyond this the oldest is forgotten. */
const MAX_RETAINED_STREAMS = 16;

export interface StreamSettings {
  /** Events kept per stream for replay. */
  readonly streamEvents: number;
  /** `retry` (ms) sent in priming events. */
  readonly retryMs: number;
}

export class Exchange implements Answer {
  /** Requests of this POST still waiting for their response. */
  private pending = 0;
  /** JSON mode: the responses so far. */
  private parts: string[] | undefined;
  private stream: Stream | undefined;
  /** Every response went out (or the client went away): nothing more is written. */
  finished = false;

  constructor(
    readonly res: ServerResponse,
    private readonly session: Session,
    private readonly batch: boolean,
    private readonly settings: StreamSettings,
  ) {}

  /** Whether anything was written yet (until then a refusal can still become an HTTP status). */
  get started(): boolean {
    return this.stream !== undefined || this.res.headersSent;
  }

  /** Registers one more request whose response this POST carries. */
  expect(): void {
    this.pending++;
  }

  /**
   * Sends a message related to a request still running here (a notification or a server-to-client
   * request), upgrading the answer to SSE. Returns false when the answer is already complete.
   */
  emit(message: string): boolean {
    if (this.finished) return false;
    this.upgrade().send(message);
    return true;
  }

  /**
   * A JSON answer cannot outlive its connection: a client that goes away has given up on the request. (An
   * SSE answer can: the client may resume it, so a dropped connection there is not a cancellation.)
   */
  onGone(callback: () => void): void {
    this.res.once('close', () => {
      if (!this.finished && this.stream === undefined) callback();
    });
  }

  /** Delivers one request's response; `frame` is undefined when there is none (the request was cancelled). */
  reply(frame: string | undefined): void {
    if (this.finished) return;
    this.pending--;
    if (frame !== undefined) {
      if (this.stream !== undefined) this.stream.send(frame);
      else (this.parts ??= []).push(frame);
    }
    if (this.pending === 0) this.finish();
  }

  /**
   * Ends the HTTP connection but not the stream (SEP-1699 polling): the client reconnects with GET and
   * `Last-Event-ID` and receives the rest of the stream there.
   */
  disconnect(): void {
    if (this.finished) return;
    this.upgrade().disconnect();
  }

  /** Abandons the answer without writing anything more (handle() rejects instead). */
  abandon(): void {
    this.finished = true;
  }

  private upgrade(): Stream {
    if (this.stream !== undefined) return this.stream;
    const session = this.session;
    const streams = (session.streams ??= new Map());
    const stream = new Stream(session.nextStream++, this.settings.streamEvents, this.settings.retryMs);
    streams.set(stream.key, stream);
    if (streams.size > MAX_RETAINED_STREAMS) {
      for (const key of streams.keys()) {
        if (key !== 0) {
          streams.delete(key);
          break;
        }
      }
    }
    this.stream = stream;
    if (!this.res.destroyed) stream.attach(this.res, {});
    // Responses of a batch that were ready before the upgrade go out first.
    if (this.parts !== undefined) for (const part of this.parts) stream.send(part);
    this.parts = undefined;
    return stream;
  }

  private finish(): void {
    this.finished = true;
    const stream = this.stream;
    if (stream !== undefined) {
      // Delivered on a live connection: nothing left to resume. Otherwise keep it for a GET resumption.
      if (stream.finish()) this.session.streams?.delete(stream.key);
      return;
    }
    const res = this.res;
    if (res.destroyed) return;
    const parts = this.parts;
    if (parts === undefined) {
      res.writeHead(202);
      endAtTurnEnd(res);
      return;
    }
    const body = this.batch ? `[${parts.join(',')}]` : parts[0]!;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    endAtTurnEnd(res, body);
  }
}
