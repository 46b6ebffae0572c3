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

/**
 * Starts `portcullis serve` as a real process (the built CLI, `npm run build` first) on a free loopback
 * port and resolves once it logs that it listens. Rejects with the process's output if it exits first.
 */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let text = '';
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 15 s:\n${text}`)), 15_000);
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
      reject(new Error(`serve exited with ${code} before listening:\n${text}`));
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
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
