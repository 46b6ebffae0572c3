/**
 * One child process speaking MCP over stdio (spec 2025-11-25, basic/transports, "stdio"): JSON-RPC
 * messages as lines on its stdin and stdout, its logs on stderr.
 *
 * - Spawned without a shell (the arguments reach it as given, nothing is interpreted), in a process group
 *   of its own on POSIX, so stopping it also stops what it started (`npx`, shell wrappers).
 * - stdout: lines longer than `maxLineBytes`, lines that are not JSON, and JSON that is not JSON-RPC are
 *   logged with a short prefix only (a line may hold a secret) and skipped.
 * - stdin: `write` resolves once the pipe took the line, so a process that stops reading holds its
 *   writers back instead of growing the gateway's memory. The lines of one turn of the event loop go
 *   in one write.
 * - stderr: each line logged at debug with the session's tag, at most {@link STDERR_LINES} per
 *   {@link STDERR_WINDOW_MS}; beyond that they are counted, and the count logged when the window turns.
 * - `stop()` follows the spec's shutdown order: close stdin, SIGTERM, then SIGKILL after `graceMs`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../core/log.js';
import { classify, type Message } from '../../mcp/jsonrpc.js';
import { LineSplitter } from '../../core/line-splitter.js';
import { LineWriter } from '../../core/line-writer.js';

/** stderr lines logged per window, at most… */
const STDERR_LINES = 50;
/** …per this many ms. */
const STDERR_WINDOW_MS = 10_000;
/** A longer stderr line is cut to this many characters in the log. */
const STDERR_LINE_CHARS = 512;
/** How many characters of a skipped stdout line the log shows. */
const PREFIX_CHARS = 32;
/** After `exit`, how long stdout may stay open (held by a grandchild) before the process counts as gone. */
const STDOUT_LINGER_MS = 1_000;

/** How a process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The command could not be started (not found, not executable, bad `cwd`): nothing was answered. */
export class StdioSpawnError extends Error {
  override readonly name = 'StdioSpawnError';

  constructor(
    readonly command: string,
    readonly code: string | undefined,
  ) {
    super(`the stdio backend command ${JSON.stringify(command)} cannot be started: ${describeSpawnCode(code)}`);
  }
}

function describeSpawnCode(code: string | undefined): string {
  if (code === 'ENOENT') return 'not found (ENOENT: check the command, PATH and cwd)';
  if (code === 'EACCES') return 'not executable (EACCES)';
  return code ?? 'unknown error';
}

/** "exit code 3", "signal SIGKILL". */
export function describeExit(exit: ProcessExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}

/** What a process is started with, and where what it writes goes. */
export interface StdioProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** The child's whole environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly maxLineBytes: number;
  /** A logger already tagged with the session. */
  readonly logger: Logger;
  /** Each JSON-RPC message the process writes (the elements of a batch one by one), with its JSON text. */
  readonly onMessage: (message: Message, json: string) => void;
  /** Called once, when the process is gone and its stdout fully read. */
  readonly onExit: (exit: ProcessExit) => void;
}

/**
 * A running child. Create it with {@link StdioProcess.spawn}.
 *
 * @example
 * const child = await StdioProcess.spawn({ command: 'node', args: ['server.js'], env: { PATH }, cwd: undefined, maxLineBytes, logger, onMessage, onExit });
 * await child.write('{"jsonrpc":"2.0","id":1,"method":"ping"}');
 * await child.stop(2_000);
 */
export class StdioProcess {
  /** The process is gone and `onExit` was called. */
  finished = false;
  readonly #exited: Promise<void>;
  #stderrLines = 0;
  #stderrSuppressed = 0;
  #stderrWindow = 0;
  readonly #stdin: LineWriter;

  private constructor(
    readonly pid: number,
    private readonly child: ChildProcess,
    private readonly options: StdioProcessOptions,
  ) {
    const stdin = child.stdin!;
    this.#stdin = new LineWriter(stdin);
    // EPIPE and the like once the process is gone: its exit is handled below, the error is no news.
    stdin.on('error', (error) => options.logger.debug({ reason: error.message }, 'stdio backend: stdin closed'));
    const stdout = new LineSplitter(options.maxLineBytes, (line) => this.#line(line), ({ prefix, bytes }) => {
      options.logger.warn({ bytes, prefix: prefix.slice(0, PREFIX_CHARS) }, 'stdio backend: a stdout line over the size limit was skipped');
    });
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stdout!.on('error', (error) => options.logger.debug({ reason: error.message }, 'stdio backend: stdout error'));
    const stderr = new LineSplitter(64 * 1024, (line) => this.#stderr(line), ({ prefix }) => this.#stderr(`${prefix}… (line too long)`));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stderr!.on('error', () => {});

    this.#exited = new Promise<void>((resolve) => {
      let exit: ProcessExit | undefined;
      let stdoutDone = false;
      const finish = (): void => {
        if (this.finished || exit === undefined) return;
        stdout.end(); // a last line without its newline still counts
        this.finished = true;
        // Writers still waiting for the pipe hear that it is gone.
        child.stdin!.destroy();
        this.#flushSuppressed();
        options.onExit(exit);
        resolve();
      };
      child.stdout!.once('close', () => {
        stdoutDone = true;
        finish();
      });
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        if (stdoutDone) return finish();
        setTimeout(finish, STDOUT_LINGER_MS).unref();
      });
    });
  }

  /** Starts the command; rejects with {@link StdioSpawnError} when it cannot be. */
  static spawn(options: StdioProcessOptions): Promise<StdioProcess> {
    let child: ChildProcess;
    try {
      child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: { ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        windowsHide: true,
        detached: process.platform !== 'win32',
      });
    } catch (error) {
      return Promise.reject(new StdioSpawnError(options.command, (error as NodeJS.ErrnoException).code));
    }
    return new Promise((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => reject(new StdioSpawnError(options.command, error.code)));
      child.once('spawn', () => {
        child.removeAllListeners('error');
        child.on('error', (error) => options.logger.warn({ reason: error.message }, 'stdio backend: process error'));
        resolve(new StdioProcess(child.pid!, child, options));
      });
    });
  }

  /**
   * Queues one line per message (`jsons` must hold no line break); false, queuing nothing, if the process
   * is gone. The lines of one turn of the event loop go in one write (`LineWriter`). Nothing waits for the
   * pipe: for a writer whose answer comes from the process anyway.
   */
  send(...jsons: string[]): boolean {
    if (this.finished || !this.child.stdin!.writable) return false;
    this.#stdin.write(...jsons);
    return true;
  }

  /** `send`, then resolves once the pipe took the lines (backpressure); rejects if the process is gone. */
  write(...jsons: string[]): Promise<void> {
    return this.send(...jsons) ? this.#stdin.taken() : Promise.reject(new Error('the stdio backend process is gone'));
  }

  /** Holds back (or lets through again) what the process writes: a reader downstream is slow. */
  pause(paused: boolean): void {
    if (paused) this.child.stdout!.pause();
    else this.child.stdout!.resume();
  }

  /** Stops the process (stdin closed and SIGTERM, SIGKILL after `graceMs`); resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    if (this.finished) return;
    this.child.stdin!.end();
    this.#signal('SIGTERM');
    const timer = setTimeout(() => this.#signal('SIGKILL'), graceMs);
    timer.unref();
    await this.#exited;
    clearTimeout(timer);
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      // The whole group: what the command started goes with it.
      if (process.platform !== 'win32') process.kill(-this.pid, signal);
      else this.child.kill(signal);
    } catch {
      this.child.kill(signal);
    }
  }

  #line(line: string): void {
    if (this.finished) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.options.logger.warn({ bytes: Buffer.byteLength(line), prefix: line.slice(0, PREFIX_CHARS) }, 'stdio backend: a stdout line that is not JSON was skipped');
      return;
    }
    const single = !Array.isArray(value);
    for (const element of single ? [value] : (value as unknown[])) {
      const message = classify(element);
      if (message.kind === 'invalid') {
        this.options.logger.warn({ prefix: line.slice(0, PREFIX_CHARS), reason: message.error.message }, 'stdio backend: a stdout message that is not JSON-RPC was skipped');
        continue;
      }
      this.options.onMessage(message, single ? line : JSON.stringify(element));
    }
  }

  #stderr(line: string): void {
    const now = Date.now();
    if (now - this.#stderrWindow >= STDERR_WINDOW_MS) {
      this.#flushSuppressed();
      this.#stderrWindow = now;
      this.#stderrLines = 0;
    }
    if (++this.#stderrLines > STDERR_LINES) {
      this.#stderrSuppressed++;
      return;
    }
    this.options.logger.debug({ pid: this.pid, stderr: line.length > STDERR_LINE_CHARS ? `${line.slice(0, STDERR_LINE_CHARS)}…` : line }, 'stdio backend stderr');
  }

  #flushSuppressed(): void {
    if (this.#stderrSuppressed === 0) return;
    this.options.logger.debug({ pid: this.pid, suppressed: this.#stderrSuppressed }, 'stdio backend stderr: lines not logged (rate limit)');
    this.#stderrSuppressed = 0;
  }
}
