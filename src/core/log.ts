import pino, { type Logger } from 'pino';

/**
 * What one request did, filled in as it passes the layers and logged once when the response finishes.
 * Never holds a token: layers put the verified subject and client here, nothing raw.
 */
export interface RequestLog {
  subject?: string;
  client?: string;
  /** JSON-RPC method (`tools/call`, …) or REST operation. */
  method?: string;
  /** Tool name, prompt name or resource URI the method addressed. */
  target?: string;
  /** `allow`, or the refusal: `no_token`, `invalid_token`, `insufficient_scope`, `unavailable`, `bad_request`, … */
  decision?: string;
  session?: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The process logger: JSON lines on stdout. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
