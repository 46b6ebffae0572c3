/**
 * The {@link CallContext} a handler receives: one per request, with its methods on the prototype and its
 * `AbortController` made only when a handler asks for `signal`, so a request that never looks costs one
 * small object.
 */
import type { AuthInfo } from '../core/auth.js';
import { JsonRpcCode, JsonRpcError } from '../core/errors.js';
import { notificationFrame, requestFrame, type Params, type RequestId } from './jsonrpc.js';
import type { CallContext } from './registry.js';
import { Capability, type Outbound, type Session } from './session.js';
import { LOGGING_LEVELS, type LoggingLevel } from './types.js';

/**
 * Where the messages of one running request go besides its response: its progress and log notifications
 * and its server-to-client requests. An HTTP POST's {@link Exchange}, or the stdio transport's line writer.
 */
export interface Channel {
  /** Sends a message related to the request; false, sending nothing, once the request's response went out. */
  emit(message: string): boolean;
  /** Calls `callback` once if the client goes away before the response and can no longer receive it. */
  onGone(callback: () => void): void;
  /** Ends the connection carrying the answer, not the answer (SEP-1699 polling); a no-op where there is none. */
  disconnect(): void;
}

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
    private readonly channel: Channel | undefined,
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
    this.channel?.onGone(() => this.cancel('The client went away'));
    return controller.signal;
  }

  /** Stops the request: the signal aborts and its response will not be sent. */
  cancel(reason: string): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller?.abort(new Error(reason));
  }

  async progress(progress: number, total?: number, message?: string): Promise<void> {
    if (this.progressToken === undefined || this.channel === undefined || this.cancelled) return;
    const params: Params = { progressToken: this.progressToken, progress };
    if (total !== undefined) params['total'] = total;
    if (message !== undefined) params['message'] = message;
    this.channel.emit(notificationFrame('notifications/progress', params));
  }

  async log(level: LoggingLevel, data: unknown, logger?: string): Promise<void> {
    const session = this.session;
    if (session === undefined || this.channel === undefined || this.cancelled) return;
    const index = LOGGING_LEVELS.indexOf(level);
    if (index < session.logLevel) return;
    const params: Params = { level, data };
    if (logger !== undefined) params['logger'] = logger;
    this.channel.emit(notificationFrame('notifications/message', params));
  }

  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const session = this.session;
    const channel = this.channel;
    if (session === undefined || channel === undefined) {
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
      if (!channel.emit(requestFrame(id, method, params))) {
        settle();
        reject(new JsonRpcError(JsonRpcCode.InvalidRequest, `${method} was sent after the request had been answered`));
      }
    });
  }

  closeStream(): void {
    this.channel?.disconnect();
  }
}
