import { Command, CommanderError } from 'commander';
import { SERVE_OPTIONS, loadConfig, type RawConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { registerAdminCommands } from './admin.js';
import { serve } from './serve.js';

/**
 * The `portcullis` command line. Returns the process exit code: 0 done, 1 failure, 2 bad configuration.
 *
 * @example
 * process.exitCode = await main(['serve', '--port', '0', '--issuer', 'https://idp.example.com']);
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('portcullis').description('OAuth 2.1 in front of MCP servers').exitOverride();
  let exitCode = 0;

  const serveCommand = program.command('serve').description('the incident tracker behind the resource server, with the embedded authorization server unless --issuer is set').option('--config <file>', 'JSON config file (flags win over env, env over the file)');
  for (const spec of SERVE_OPTIONS) {
    if (!spec.flag) continue; // secrets come from the environment only
    const description = `${spec.description} [${spec.env.join(', ')}]${spec.default ? ` (default: ${spec.default})` : ''}`;
    serveCommand.option(`${spec.flag} <${spec.value ?? 'value'}>`, description);
  }
  serveCommand.action(async (options: RawConfig & { config?: string }) => {
    const result = loadConfig(options, process.env, options.config);
    if (!result.ok) {
      for (const problem of result.problems) process.stderr.write(`portcullis: ${problem}\n`);
      exitCode = 2;
      return;
    }
    const logger = createLogger(result.config.logLevel);
    let running;
    try {
      running = await serve(result.config, logger);
    } catch (error) {
      process.stderr.write(`portcullis: cannot start: ${(error as Error).message}\n`);
      exitCode = 1;
      return;
    }
    process.stderr.write(`${running.banner}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        running.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  });

  registerAdminCommands(program, (code) => (exitCode = code));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}
