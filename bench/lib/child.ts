/**
 * A server under test, in its own process. Its stdout is a pipe that is read until the JSON line with
 * `msg: "listening"` names the `url`, and drained (discarded, bytes counted) after that, so a server
 * that logs every request pays for writing its logs as it would in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerProcess {
  name: string;
  pid: number;
  /** The URL from the `listening` line. */
  url: string;
  /** Bytes the server has written to stdout so far (its logs). */
  readonly stdoutBytes: number;
  /** The last few KB of stderr, for error reports. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Environment for children: none of the caller's Portcullis/OAuth settings leak into a row, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(OAUTH_|OKTA_|MCP_|PORTCULLIS_)|^(PORT|HOST|PUBLIC_URL|LOG_LEVEL|NODE_OPTIONS)$/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export interface StartOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * @example
 * const floor = await startServer('floor', process.execPath, ['.cache/bench/servers/floor.js'], { cwd });
 */
export function startServer(name: string, command: string, args: readonly string[], options: StartOptions): Promise<ServerProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdoutBytes = 0;
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not print a "listening" line within ${options.timeoutMs ?? 20_000} ms`), options.timeoutMs ?? 20_000);
    const onExit = (code: number | null, signal: string | null): void => fail(`exited (${signal ?? `code ${code}`}) before listening`);
    child.once('exit', onExit);
    child.once('error', (error) => fail(error.message));

    function fail(reason: string): void {
      clearTimeout(timer);
      child.stdout!.removeAllListeners('data');
      child.kill('SIGKILL');
      reject(new Error(`${name} ${reason}${stderr ? `\n${stderr.trim()}` : ''}`));
    }

    function onLine(line: string): string | undefined {
      if (!line.startsWith('{')) return undefined;
      try {
        const record = JSON.parse(line) as { msg?: unknown; url?: unknown };
        return record.msg === 'listening' && typeof record.url === 'string' ? record.url : undefined;
      } catch {
        return undefined;
      }
    }

    const onData = (chunk: Buffer): void => {
      stdoutBytes += chunk.length;
      pending += chunk.toString('utf8');
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const url = onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (url !== undefined) {
          clearTimeout(timer);
          child.off('exit', onExit);
          child.stdout!.off('data', onData);
          child.stdout!.on('data', (more: Buffer) => {
            stdoutBytes += more.length;
          });
          resolve(handle(child, url));
          return;
        }
      }
    };
    child.stdout!.on('data', onData);
  });

  function handle(process: ChildProcess, url: string): ServerProcess {
    return {
      name,
      pid: process.pid!,
      url,
      get stdoutBytes() {
        return stdoutBytes;
      },
      stderrTail: () => stderr,
      async stop(graceMs = 5000) {
        if (process.exitCode !== null || process.signalCode !== null) return;
        process.kill('SIGTERM');
        const timer = setTimeout(() => process.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
  }
}

/**
 * `main` with the processes that work for it (the backend behind a gateway): the same handle, whose `stop`
 * stops `main` first, then each companion, so a row's helpers start and stop with the row.
 *
 * @example
 * const backend = await startServer('backend', process.execPath, [backendJs], { cwd });
 * const gateway = withCompanions(await startServer('gateway', process.execPath, proxyArgs, { cwd }), [backend]);
 * await gateway.stop(); // the gateway, then the backend
 */
export function withCompanions(main: ServerProcess, companions: readonly ServerProcess[]): ServerProcess {
  return {
    name: main.name,
    pid: main.pid,
    url: main.url,
    get stdoutBytes() {
      return main.stdoutBytes;
    },
    stderrTail: () => main.stderrTail(),
    async stop(graceMs) {
      await main.stop(graceMs);
      await Promise.all(companions.map((companion) => companion.stop(graceMs)));
    },
  };
}
