/**
 * JSON-RPC 2.0 envelopes as MCP uses them: classification of what a client sent, checked by hand
 * (a handful of fields, no schema library on the hot path), and serialisation of what the server sends.
 *
 * What is checked: `jsonrpc` is exactly "2.0"; a request has a string or number `id` (MCP forbids `null`)
 * and a string `method`; `params`, when present, is an object (MCP never uses positional params); a
 * response has an `id` and a `result` or an `error`. What is not checked here: the shape of `params` for
 * each method (the method handlers do that) and the shape of a client's `result` (the code that sent
 * the request does).
 */
import { JsonRpcCode, JsonRpcError } from '../core/errors.js';

export type RequestId = string | number;
export type Params = Record<string, unknown>;

export interface Request {
  readonly kind: 'request';
  readonly id: RequestId;
  readonly method: string;
  readonly params: Params | undefined;
}

export interface Notification {
  readonly kind: 'notification';
  readonly method: string;
  readonly params: Params | undefined;
}

export interface Response {
  readonly kind: 'response';
  readonly id: RequestId;
  readonly result: unknown;
  readonly error: { code: number; message: string; data?: unknown } | undefined;
}

/** Something that is not a valid message; answered with `error` (and `id` when one could be read). */
export interface Invalid {
  readonly kind: 'invalid';
  readonly id: RequestId | null;
  readonly error: JsonRpcError;
}

export type Message = Request | Notification | Response | Invalid;

/** A result that is already serialised JSON (cached `tools/list` and the like). */
export class RawJson {
  constructor(readonly json: string) {}
}

function isId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Classifies one parsed JSON value (one element of a batch, or the whole body). */
export function classify(value: unknown): Message {
  if (!isObject(value)) return invalid(null, JsonRpcCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message');
  const id = value['id'];
  if (value['jsonrpc'] !== '2.0') return invalid(isId(id) ? id : null, JsonRpcCode.InvalidRequest, 'Invalid Request: jsonrpc must be "2.0"');
  const method = value['method'];
  if (method !== undefined) {
    if (typeof method !== 'string' || method.length === 0) return invalid(isId(id) ? id : null, JsonRpcCode.InvalidRequest, 'Invalid Request: method must be a string');
    const params = value['params'];
    if (id === undefined) {
      return { kind: 'notification', method, params: isObject(params) ? params : undefined };
    }
    if (!isId(id)) return invalid(null, JsonRpcCode.InvalidRequest, 'Invalid Request: id must be a string or a number');
    if (params !== undefined && !isObject(params)) return invalid(id, JsonRpcCode.InvalidParams, 'Invalid params: params must be an object');
    return { kind: 'request', id, method, params };
  }
  if (isId(id) && ('result' in value || 'error' in value)) {
    const error = value['error'];
    if (error !== undefined && !(isObject(error) && typeof error['code'] === 'number' && typeof error['message'] === 'string')) {
      return invalid(null, JsonRpcCode.InvalidRequest, 'Invalid Request: malformed error response');
    }
    return { kind: 'response', id, result: value['result'], error: error as Response['error'] };
  }
  return invalid(isId(id) ? id : null, JsonRpcCode.InvalidRequest, 'Invalid Request: neither a request, a notification nor a response');
}

function invalid(id: RequestId | null, code: number, message: string): Invalid {
  return { kind: 'invalid', id, error: new JsonRpcError(code, message) };
}

/** `{"jsonrpc":"2.0","id":…,"result":…}` */
export function resultFrame(id: RequestId, result: unknown): string {
  const body = result instanceof RawJson ? result.json : JSON.stringify(result ?? {});
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${body}}`;
}

/** `{"jsonrpc":"2.0","id":…,"error":{…}}`; `id` is `null` when the request's id could not be read. */
export function errorFrame(id: RequestId | null, error: JsonRpcError): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${JSON.stringify(error)}}`;
}

export function notificationFrame(method: string, params: Params | undefined): string {
  return params === undefined ? `{"jsonrpc":"2.0","method":${JSON.stringify(method)}}` : `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`;
}

export function requestFrame(id: RequestId, method: string, params: Params): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`;
}
