/**
 * The {@link CallContext} a handler receives: one per request, with its methods on the prototype and its
 * `AbortController` made only when a handler asks for `signal`, so a request that never looks costs one
 * small object.
 */
import type { AuthInfo } from '../core/auth.js';
import { JsonRpcCode, JsonRpcError } from '../core/errors.js';
import type { Exchange } from './exchange.js';
import { notificationFrame, requestFrame, type Params, type RequestId } from './jsonrpc.js';
import type { CallContext } from './registry.js';
import { Capability, type Outbound, type Session } from './session.js';
import { LOGGING_LEVELS, type LoggingLevel } from './types.js';

export interface ContextSettings {
  /** How long a server-to-client request waits for the client's answer. */
  readonly clientRequestTimeoutMs: number;
}

/** Server-to-client methods and the client capability each needs (spec 2025-11-25, client/*). */
const REQUIRED_CAPABILITY: Readonly<Record<string, number>> = {
  'sampling/createMessage': Capability.Sampling,
  'elicitation/create': Capability.Elicitation,
  'roots/list': Capability.Roots,
};

export class RequestContext implements CallContext {
  private controller: AbortController | undefined;
  /** The client cancelled the request (or went away): its response is not sent. */
  cancelled = false;

  constructor(
    readonly auth: AuthInfo,
    private readonly settings: ContextSettings,
    private readonly session: Session | undefined,
    private readonly exchange: Exchange | undefined,
    private readonly progressToken: RequestId | undefined,
    private readonly external?: AbortSignal,
  ) {}

  get sessionId(): string | undefined {
    return this.session?.id;
  }

  get signal(): AbortSignal {
    if (this.controller !== undefined) return this.controller.signal;
    const controller = (this.controller = new AbortController());
    if (this.cancelled) controller.abort(new Error('The request was cancelled'));
    const external = this.external;
    if (external !== undefined) {
      if (external.aborted) controller.abort(external.reason);
      else external.addEventListener('abort', () => this.cancel('The caller aborted the request'), { once: true });
    }
    // A JSON answer cannot outlive its connection: a client that goes away has given up on the request.
    // (An SSE answer can: the client may resume it, so a dropped connection there is not a cancellation.)
    const exchange = this.exchange;
    if (exchange !== undefined) {
      exchange.res.once('close', () => {
        if (!exchange.finished && !exchange.streaming) this.cancel('The client closed the connection');
      });
    }
    return controller.signal;
  }

  /** Stops the request: the signal aborts and its response will not be sent. */
  cancel(reason: string): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller?.abort(new Error(reason));
  }

  async progress(progress: number, total?: number, message?: string): Promise<void> {
    if (this.progressToken === undefined || this.exchange === undefined || this.cancelled) return;
    const params: Params = { progressToken: this.progressToken, progress };
    if (total !== undefined) params['total'] = total;
    if (message !== undefined) params['message'] = message;
    this.exchange.emit(notificationFrame('notifications/progress', params));
  }

  async log(level: LoggingLevel, data: unknown, logger?: string): Promise<void> {
    const session = this.session;
    if (session === undefined || this.exchange === undefined || this.cancelled) return;
    const index = LOGGING_LEVELS.indexOf(level);
    if (index < session.logLevel) return;
    const params: Params = { level, data };
    if (logger !== undefined) params['logger'] = logger;
    this.exchange.emit(notificationFrame('notifications/message', params));
  }

  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const session = this.session;
    const exchange = this.exchange;
    if (session === undefined || exchange === undefined) {
      return Promise.reject(new JsonRpcError(JsonRpcCode.InvalidRequest, `${method} needs an MCP session with the client`));
    }
    const needed = REQUIRED_CAPABILITY[method];
    if (needed !== undefined && (session.capabilities & needed) === 0) {
      return Promise.reject(new JsonRpcError(JsonRpcCode.InvalidRequest, `The client does not support ${method}`));
    }
    const signal = this.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = session.nextOutbound++;
    const outbound: Map<number, Outbound> = (session.outbound ??= new Map());
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        outbound.delete(id);
      };
      const onAbort = (): void => {
        settle();
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new JsonRpcError(JsonRpcCode.RequestTimeout, `The client did not answer ${method} in time`));
      }, this.settings.clientRequestTimeoutMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      outbound.set(id, {
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      if (!exchange.emit(requestFrame(id, method, params))) {
        settle();
        reject(new JsonRpcError(JsonRpcCode.InvalidRequest, `${method} was sent after the request had been answered`));
      }
    });
  }

  closeStream(): void {
    this.exchange?.disconnect();
  }
}
