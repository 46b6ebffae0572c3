import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { RecordedMessage, RecordedRequest } from '../fixtures/recording-backend.js';

export type { RecordedMessage, RecordedRequest };

export interface BackendProcess {
  /** The backend's MCP endpoint. */
  url: string;
  child: ChildProcess;
  /** Every request the backend received so far. */
  records(): Promise<RecordedRequest[]>;
  /** Makes the backend answer every /mcp request with `status` (401, 403) and its own challenge; 0 stops. */
  refuse(status: number): Promise<void>;
  /** SIGKILL: the backend dies mid-whatever, as a crash would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const FIXTURE = new URL('../fixtures/recording-backend.ts', import.meta.url).pathname;

/**
 * Starts test/fixtures/recording-backend.ts as a real process on 127.0.0.1 (`port`, default any free one)
 * and resolves once it listens (within 15 s).
 */
export async function startRecordingBackend(port = 0): Promise<BackendProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the recording backend did not start in 15 s:\n${output}`));
    }, 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      const match = /^listening on (\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the recording backend exited with ${code}:\n${output}`));
    });
  });
  const origin = new URL(url).origin;
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    url,
    child,
    async records() {
      const response = await fetch(`${origin}/debug/records`, { signal: AbortSignal.timeout(10_000) });
      return (await response.json()) as RecordedRequest[];
    },
    async refuse(status) {
      await fetch(`${origin}/debug/refuse`, { method: 'POST', body: JSON.stringify({ status }), signal: AbortSignal.timeout(10_000) });
    },
    async kill() {
      if (gone()) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
    async stop() {
      if (gone()) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
