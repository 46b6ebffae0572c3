import { Writable } from 'node:stream';
import pino from 'pino';
import type { Command } from 'commander';
import { SERVE_OPTIONS, loadConfig, type Config, type RawConfig } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { KeyRingError } from '../../authorization-server/keys.js';
import { StoreError } from '../../stores/errors.js';
import { openStore } from '../../stores/open.js';
import type { Store } from '../../stores/types.js';

/**
 * What the administrative commands (`users`, `clients`, `keys`, `token`) share: the same configuration as
 * `serve` (flags over env over `--config` file over defaults, validated by `loadConfig`), the store it
 * names, a logger that writes one human line per message to stderr, and the exit codes of ARCHITECTURE §4:
 * 0 done, 1 failure, 2 bad usage or configuration.
 */

/** A refusal with its exit code and one line for the operator. */
export class CommandError extends Error {
  override readonly name = 'CommandError';

  constructor(
    readonly exitCode: 1 | 2,
    message: string,
  ) {
    super(message);
  }
}

/** Bad usage or configuration: exit 2. */
export const usage = (message: string): CommandError => new CommandError(2, message);
/** The command could not do its job: exit 1. */
export const failure = (message: string): CommandError => new CommandError(1, message);

export type SetExitCode = (code: number) => void;

/** Adds `serve`'s flags named by `keys` (same descriptions, same env variables) and `--config` to a command. */
export function addConfigOptions(command: Command, keys: readonly (keyof RawConfig)[]): Command {
  command.option('--config <file>', 'JSON config file (flags win over env, env over the file)');
  for (const key of keys) {
    const spec = SERVE_OPTIONS.find((s) => s.key === key);
    if (!spec?.flag) continue;
    // Commands log for people, on stderr, and only warnings unless asked.
    const { description, default: fallback } = key === 'logLevel' ? { description: 'fatal, error, warn, info, debug, trace, silent; one line each on stderr', default: 'warn' } : spec;
    command.option(`${spec.flag} <${spec.value ?? 'value'}>`, `${description} [${spec.env.join(', ')}]${fallback ? ` (default: ${fallback})` : ''}`);
  }
  return command;
}

export interface AdminEnvironment {
  config: Config;
  store: Store;
  logger: Logger;
}

/**
 * Runs one administrative action: validates the configuration, opens the store, runs `action`, closes the
 * store, and turns every failure into one `portcullis: …` line on stderr and its exit code.
 *
 * @example
 * command.action((options) => runAdmin(options, setExit, async ({ store }) => { … }));
 */
export async function runAdmin(options: object, setExitCode: SetExitCode, action: (env: AdminEnvironment) => Promise<void>): Promise<void> {
  // Commander's options: the config flags (strings) among the command's own; loadConfig reads only its keys.
  const { config: configFile, ...flags } = options as RawConfig & { config?: string };
  const result = loadConfig(flags, process.env, configFile);
  if (!result.ok) {
    for (const problem of result.problems) process.stderr.write(`portcullis: ${problem}\n`);
    setExitCode(2);
    return;
  }
  // Quieter than serve: a command's own output is what matters; --log-level / LOG_LEVEL still win.
  const explicitLevel = flags.logLevel ?? process.env.LOG_LEVEL;
  const logger = stderrLogger(explicitLevel ? result.config.logLevel : 'warn');
  let store: Store | undefined;
  try {
    store = await openStore(result.config.store, { logger });
    await action({ config: result.config, store, logger });
  } catch (error) {
    const { code, message } = describe(error);
    process.stderr.write(`portcullis: ${message}\n`);
    setExitCode(code);
  } finally {
    await store?.close();
  }
}

function describe(error: unknown): { code: 1 | 2; message: string } {
  if (error instanceof CommandError) return { code: error.exitCode, message: error.message };
  // A key that cannot be decrypted is a configuration mismatch (PORTCULLIS_SECRET), not a crash.
  if (error instanceof KeyRingError) return { code: error.code === 'no_active_key' ? 1 : 2, message: error.message };
  if (error instanceof StoreError) return { code: error.code === 'invalid_url' || error.code === 'incompatible' ? 2 : 1, message: error.message };
  if (error instanceof TypeError || error instanceof RangeError) return { code: 2, message: error.message };
  return { code: 1, message: error instanceof Error ? error.message : String(error) };
}

/** A pino logger whose lines come out as `portcullis: warning: message` on stderr, for people. */
function stderrLogger(level: Config['logLevel']): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      try {
        const entry = JSON.parse(chunk.toString('utf8')) as { level?: number; msg?: string };
        const label = (entry.level ?? 30) >= 50 ? 'error' : (entry.level ?? 30) >= 40 ? 'warning' : 'info';
        process.stderr.write(`portcullis: ${label}: ${entry.msg ?? ''}\n`);
      } catch {
        process.stderr.write(chunk);
      }
      callback();
    },
  });
  return pino({ level, base: undefined }, stream);
}

/** Prints a line on stdout. */
export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Splits a space- or comma-separated list. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

/** Epoch seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
