import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/core/log.js';
import { openStore } from '../../src/stores/open.js';
import type { Store } from '../../src/stores/types.js';

/** Fixtures of the core tests (keys, tokens, passwords, users, secrets): a real logger, a clock, a store. */

/** A real pino logger whose JSON lines are kept for assertions (and checked for secrets). */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[]; text(): string } {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw += chunk.toString('utf8');
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'trace', base: undefined }, stream), lines, text: () => raw };
}

/** A clock in epoch seconds that moves only when told. */
export class SecondsClock {
  constructor(public value = 1_800_000_000) {}
  readonly now = (): number => this.value;
  advance(seconds: number): void {
    this.value += seconds;
  }
}

/** A memory store, with its "forgets everything" warning going to a discarded logger. */
export function memoryStore(): Promise<Store> {
  return openStore('memory:', { logger: pino({ level: 'silent' }) });
}
