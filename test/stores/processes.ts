/**
 * Other processes on the same store, for the contract suites: writers that create incidents while the
 * test does, and racers that run one atomic operation at the same moment as each other. Both take a store
 * URL (`sqlite:FILE`, `redis://…`, `postgres://…`), so every shared store runs the same races.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RacerSpec } from './auth-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/store-writer.ts', import.meta.url));
const RACER = fileURLToPath(new URL('./fixtures/store-racer.ts', import.meta.url));

/** Starts `processes` racer fixtures on the store at `url`; once all are ready, `go()` releases them together and collects their results. */
export async function startRacers(url: string, spec: RacerSpec, processes: number): Promise<{ go(): Promise<unknown[]> }> {
  const children = await Promise.all(
    Array.from({ length: processes }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', RACER, url, JSON.stringify(spec)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (chunk) => (err += chunk));
      child.stdout.on('data', (chunk) => (out += chunk));
      const result = new Promise<unknown[]>((resolveResult, rejectResult) => {
        child.on('error', rejectResult);
        child.on('exit', (code) => {
          const line = out.split('\n').find((l) => l.startsWith('result '));
          if (code === 0 && line) resolveResult(JSON.parse(line.slice('result '.length)) as unknown[]);
          else rejectResult(new Error(`racer exited ${code}: ${err}`));
        });
      });
      result.catch(() => {}); // observed through go()
      return new Promise<{ child: typeof child; result: Promise<unknown[]> }>((resolveReady, rejectReady) => {
        child.stdout.on('data', () => {
          if (out.startsWith('ready\n')) resolveReady({ child, result });
        });
        result.catch(rejectReady);
      });
    }),
  );
  return {
    async go() {
      for (const { child } of children) child.stdin.end('go\n');
      return (await Promise.all(children.map((c) => c.result))).flat();
    },
  };
}

/** Starts the writer fixture; resolves once it has opened the store and been told to go, with a promise of its clean exit. */
export function startWriter(url: string, count: number, service: string): Promise<{ finished: Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, url, String(count), service], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk) => (err += chunk));
  const exited = new Promise<void>((resolveExit, rejectExit) => {
    child.on('error', rejectExit);
    child.on('exit', (code) => (code === 0 && out.includes('done') ? resolveExit() : rejectExit(new Error(`writer exited ${code}: ${err}`))));
  });
  exited.catch(() => {}); // observed by the caller
  return new Promise((resolveReady, rejectReady) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.startsWith('ready') && out.length === 'ready\n'.length) {
        child.stdin.end('go\n');
        resolveReady({ finished: exited });
      }
    });
    exited.catch(rejectReady);
  });
}
