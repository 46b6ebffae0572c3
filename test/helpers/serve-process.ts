import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ServeProcess {
  /** The MCP endpoint URL the server printed. */
  url: string;
  child: ChildProcess;
  /** Every JSON log line the server wrote so far. */
  logs: Record<string, unknown>[];
  /** Everything the server wrote to stdout and stderr, to check that no token was logged. */
  output(): string;
  /** Resolves with the first log line matching `predicate`, waiting up to 5 s for it to be written. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

const BIN = new URL('../../bin/portcullis.js', import.meta.url).pathname;

/** Variables of the machine running the tests that would configure serve behind the test's back. */
export const CONFIG_VARIABLES = /^(PORTCULLIS_|OAUTH_|OKTA_|MCP_)|^(PORT|HOST|PUBLIC_URL|LOG_LEVEL)$/;

/**
 * Starts `portcullis serve` (or, with `command`, `portcullis proxy`) as a real process (the built CLI,
 * `npm run build` first) on a free loopback port (unless `args` has `--port` or `env` has `PORT`) and
 * resolves once it logs that it listens. Its configuration is `args` and `env` only (none inherited from
 * the machine). Rejects with the process's output if it exits first. `cwd` is where a relative default
 * store (`./data/portcullis.db`) lands.
 */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string; command?: 'serve' | 'proxy' } = {}): Promise<ServeProcess> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CONFIG_VARIABLES.test(name)));
  const port = args.includes('--port') || env.PORT !== undefined ? [] : ['--port', '0'];
  const command = options.command ?? 'serve';
  const child = spawn(process.execPath, [BIN, command, ...port, ...args], {
    env: { ...inherited, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const logs: Record<string, unknown>[] = [];
  let text = '';
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not start in 15 s:\n${text}`));
    }, 15_000);
    lines.on('line', (line) => {
      text += `${line}\n`;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          resolve(String(entry.url));
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before listening:\n${text}`));
    });
  });
  return {
    url,
    child,
    logs,
    output: () => text,
    waitForLog: (predicate) =>
      new Promise((resolve, reject) => {
        const found = logs.find(predicate);
        if (found) return resolve(found);
        const timer = setTimeout(() => { lines.off('line', onLine); reject(new Error('no such log line in 5 s')); }, 5000);
        const onLine = (): void => {
          const last = logs.at(-1);
          if (last && predicate(last)) {
            clearTimeout(timer);
            lines.off('line', onLine);
            resolve(last);
          }
        };
        lines.on('line', onLine);
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode; // already gone (killed by a test)
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
