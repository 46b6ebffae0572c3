/**
 * A stdio backend: an MCP server that is a local command speaking MCP over stdio (spec 2025-11-25,
 * basic/transports, "stdio": newline-delimited JSON-RPC on its stdin and stdout, its logs on stderr),
 * answering the gateway's Streamable HTTP exchanges as an HTTP backend would.
 *
 * **One process per session.** A POST `initialize` without `Mcp-Session-Id` spawns a process, writes the
 * request, and answers with the process's initialize response (JSON) and a new `Mcp-Session-Id` (144
 * random bits, base64url) that names this process; later exchanges carry it. A stdio server's
 * server-to-client requests (sampling, elicitation, roots), its logging level and its subscriptions
 * belong to its one connection, so a process shared between users would send one user's elicitation to
 * another (a confused deputy): never shared. Request ids pass unchanged (one client per process).
 * At most `maxProcesses` sessions exist (503 beyond, with a JSON-RPC error); a session with no exchange
 * for `idleMs` and no open stream is stopped.
 *
 * **Exchanges.**
 * - POST with requests (or, for 2025-03-26, a batch): written to the process, one line per message. A
 *   lone request whose first message back is its response is answered with that response as JSON; else
 *   the answer is `text/event-stream`: what the process writes that belongs with the requests (progress
 *   for their `progressToken`; logging, other notifications and the server's own requests while they
 *   run), then their responses, then the stream ends. How messages are attributed: `lib/stdio-routes.ts`.
 *   What arrives while no POST stream is open goes to the standalone GET stream, or is buffered
 *   (bounded) until one opens.
 * - POST with only notifications or responses (the client's answer to an elicitation): written; 202.
 *   A client's `notifications/cancelled` also stops the wait for that request's answer. They restart no
 *   process: sent while it is down, they referred to the one that is gone and are dropped.
 * - GET: the standalone stream (409 when one is open). Events carry no ids: nothing can be resumed.
 * - DELETE: the process is stopped (stdin closed and SIGTERM, SIGKILL after `stopGraceMs`); 204 once it
 *   is gone. Unknown session id: 404. The refusals and their order: `lib/stdio-exchanges.ts`.
 *
 * **Supervision** (`lib/stdio-session.ts`). When a process exits or crashes, each of its unanswered
 * requests gets a JSON-RPC error (-32603, "the backend MCP server exited (exit code 3) before
 * answering"), its open streams end cleanly, and the gateway stays up. The next POST on that session
 * starts a new process with backoff (`restart.initialMs`, doubling per consecutive failure up to
 * `restart.maxMs`), replays the session's original `initialize` and `notifications/initialized`, then
 * forwards the exchange: the client goes on without initializing again (state beyond that, such as
 * subscriptions, is lost). Crash loops stay bounded: restarts happen only on demand (a POST, never a timer
 * or a GET), one at a time per session, spaced by the backoff, for at most `maxProcesses` sessions. A
 * command that cannot be started (ENOENT, EACCES) rejects the exchange (the gateway answers 502) with a
 * message naming the command.
 *
 * **Robustness** (`lib/stdio-process.ts`). stdout lines over `maxLineBytes`, and lines that are not
 * JSON-RPC, are logged with a 32-character prefix (never more: they may hold secrets) and skipped. A
 * process that stops reading its stdin holds its writers back (a 202 waits until the pipe took the lines;
 * a request's answer comes only once the process read it), and a slow reader of a stream holds the
 * process's stdout back. stderr is logged at debug, tagged with the session, rate-limited.
 *
 * **Environment.** The child gets `env` and `PATH` (from `env`, else the gateway's), nothing else: none
 * of the gateway's own environment, so never `PORTCULLIS_SECRET`, store URLs or IdP client secrets. Give
 * what the server needs (`HOME`, its API keys) in `env` explicitly. Arguments are passed without a shell.
 *
 * **Identity.** The caller's identity reaches the process only in each request's
 * `params._meta["dev.portcullis/caller"]`, stamped by the gateway; `BackendRequest.caller` is not used
 * (there is no channel for a token, and none is wanted).
 *
 * **Readiness.** `ready()` is true when the command can be started: it resolves to an executable file
 * (a bare name through the child's `PATH`). It runs nothing; a true answer is kept for good, a false one
 * is checked again after 5 s. A crashing process affects only its own session, not readiness.
 */
import { statSync } from 'node:fs';
import { JsonRpcError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Backend, BackendRequest, BackendResponse } from '../backend.js';
import { canExecute } from '../lib/command-path.js';
import { refusalAnswer } from '../lib/stdio-answers.js';
import { stdioDelete, stdioGet, stdioPost } from '../lib/stdio-exchanges.js';
import type { StdioSessionConfig } from '../lib/stdio-session.js';
import { StdioSessionTable } from '../lib/stdio-table.js';

export { StdioSpawnError } from '../lib/stdio-process.js';

/** Checked when the backend is created, so a bad value fails at start-up. */
export interface StdioBackendOptions {
  /** The program to run: a path, or a name looked up in `PATH`. Run without a shell. */
  command: string;
  /** Its arguments, passed as given (default none). */
  args?: readonly string[];
  /** The child's whole environment besides `PATH` (default: empty). Nothing of the gateway's is inherited. */
  env?: Readonly<Record<string, string>>;
  /** Its working directory (default: the gateway's); must exist. */
  cwd?: string;
  /** Where process events, skipped lines and (at debug) the child's stderr go. */
  logger: Logger;
  /** Most sessions, so most processes, at once; `initialize` beyond gets 503 (default 100). */
  maxProcesses?: number;
  /** A session with no exchange for this long and no open stream is stopped (default 30 minutes). */
  idleMs?: number;
  /** Backoff before a restart: `initialMs`, doubling per consecutive failure, up to `maxMs` (default 100 ms → 5 s). */
  restart?: { initialMs: number; maxMs: number };
  /** Longest stdout line (one JSON-RPC message) read; longer ones are skipped (default 4 MiB). */
  maxLineBytes?: number;
  /** How long a process may take to answer `initialize` (default 30 s). */
  startTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when a process is stopped (default 3 s). */
  stopGraceMs?: number;
  /** The clock, in ms. */
  now?: () => number;
}

/** How long a "cannot be started" readiness answer is reused. */
const READY_RETRY_MS = 5_000;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`createStdioBackend: ${name} must be a positive number`);
  return value;
}

function noNul(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.includes('\0')) throw new TypeError(`createStdioBackend: ${name} must be a string without NUL`);
  return value;
}

/** The options, checked; the child's environment built (see the module comment). */
function configure(options: StdioBackendOptions): StdioSessionConfig & { maxProcesses: number; idleMs: number } {
  const command = noNul('command', options.command);
  if (command.trim() === '') throw new TypeError('createStdioBackend: command must not be empty');
  if (options.args !== undefined && !Array.isArray(options.args)) throw new TypeError('createStdioBackend: args must be an array of strings');
  const args = (options.args ?? []).map((arg, index) => noNul(`args[${index}]`, arg));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (name === '' || name.includes('=')) throw new TypeError(`createStdioBackend: env name ${JSON.stringify(name)} is not a variable name`);
    env[noNul(`env name`, name)] = noNul(`env.${name}`, value);
  }
  const path = env['PATH'] ?? process.env['PATH'];
  if (path !== undefined) env['PATH'] = path;
  if (options.cwd !== undefined && !statSync(noNul('cwd', options.cwd), { throwIfNoEntry: false })?.isDirectory()) {
    throw new TypeError(`createStdioBackend: cwd ${JSON.stringify(options.cwd)} is not a directory`);
  }
  if (options.logger === undefined) throw new TypeError('createStdioBackend: logger is required');
  const initialMs = positive('restart.initialMs', options.restart?.initialMs, 100);
  const maxMs = positive('restart.maxMs', options.restart?.maxMs, 5_000);
  if (maxMs < initialMs) throw new TypeError('createStdioBackend: restart.maxMs must be at least restart.initialMs');
  const maxProcesses = positive('maxProcesses', options.maxProcesses, 100);
  if (!Number.isInteger(maxProcesses)) throw new TypeError('createStdioBackend: maxProcesses must be an integer');
  const maxLineBytes = positive('maxLineBytes', options.maxLineBytes, 4 * 1024 * 1024);
  if (!Number.isInteger(maxLineBytes)) throw new TypeError('createStdioBackend: maxLineBytes must be an integer');
  return {
    command,
    args,
    env,
    cwd: options.cwd,
    logger: options.logger,
    maxLineBytes,
    startTimeoutMs: positive('startTimeoutMs', options.startTimeoutMs, 30_000),
    stopGraceMs: positive('stopGraceMs', options.stopGraceMs, 3_000),
    restart: { initialMs, maxMs },
    now: options.now ?? Date.now,
    maxProcesses,
    idleMs: positive('idleMs', options.idleMs, 30 * 60_000),
  };
}

/** `node server.js --flag`, quoting what a reader could not tell apart otherwise. */
function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(' ');
}

/**
 * Creates the stdio backend (see the module comment for what it does). Nothing is started until a
 * client initializes; call `ready()` at start-up to fail fast on a command that cannot be run.
 *
 * @example
 * const backend = createStdioBackend({ command: 'node', args: ['their-server.js', '--flag'], env: { HOME: '/srv/mcp' }, logger });
 * if (!(await backend.ready())) throw new Error(`cannot run ${backend.location}`);
 * const gateway = new Gateway({ backend, toolScopes, logger });
 */
export function createStdioBackend(options: StdioBackendOptions): Backend {
  const config = configure(options);
  const table = new StdioSessionTable(config, { maxProcesses: config.maxProcesses, idleMs: config.idleMs });
  let readiness: { at: number; answer: Promise<boolean> } | undefined;
  let closed = false;

  async function send(exchange: BackendRequest): Promise<BackendResponse> {
    if (closed) throw new Error('the stdio backend is closed');
    try {
      if (exchange.method === 'POST') return await stdioPost(table, exchange);
      if (exchange.method === 'GET') return stdioGet(table, exchange);
      return await stdioDelete(table, exchange);
    } catch (error) {
      if (error instanceof JsonRpcError) return refusalAnswer(error);
      throw error;
    }
  }

  return {
    location: commandLine(config.command, config.args),
    send,
    async ready() {
      const at = config.now();
      if (readiness === undefined || (!(await readiness.answer) && at - readiness.at >= READY_RETRY_MS)) {
        readiness = { at, answer: canExecute(config.command, config.env['PATH'], config.cwd) };
      }
      return readiness.answer;
    },
    async close() {
      closed = true;
      await table.close();
    },
  };
}
