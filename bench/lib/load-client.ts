/**
 * The orchestrator's handle on the load generator child (`bench/load.ts`): one job at a time over IPC.
 */
import { fork } from 'node:child_process';
import type { LoadJob, LoadMessage, LoadReply, LoadResult } from '../load.js';

export interface LoadGenerator {
  run(job: LoadJob): Promise<LoadResult>;
  close(): Promise<void>;
}

/**
 * @example
 * const load = startLoadGenerator('bench/load.ts');
 * const result = await load.run({ url, headers, body: CALL_BODY, expect: CALL_EXPECT, connections: 10, seconds: 5 });
 */
export function startLoadGenerator(script: string): LoadGenerator {
  const child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    run(job) {
      return new Promise<LoadResult>((resolve, reject) => {
        const onExit = (): void => reject(new Error('the load generator exited'));
        child.once('exit', onExit);
        child.once('message', (reply: LoadReply) => {
          child.off('exit', onExit);
          if (reply.type === 'result') resolve(reply.result);
          else reject(new Error(`load generator: ${reply.error}`));
        });
        child.send({ type: 'run', job } satisfies LoadMessage);
      });
    },
    async close() {
      if (child.connected) child.send({ type: 'exit' } satisfies LoadMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
