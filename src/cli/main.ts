import { Command, CommanderError } from 'commander';
import { SERVE_OPTIONS, loadConfig, type Config, type RawConfig } from '../core/config.js';
import { createLogger, type Logger } from '../core/log.js';
import { registerAdminCommands } from './admin.js';
import { CommandError } from './lib/admin.js';
import type { Running } from './lib/protected.js';
import { proxy } from './proxy.js';
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
  const setExitCode = (code: number): void => void (exitCode = code);

  registerServerCommand(program, 'serve', 'the incident tracker behind the resource server, with the embedded authorization server unless --issuer is set', serve, setExitCode);
  registerServerCommand(program, 'proxy', 'the gateway: the same protection in front of an existing MCP server (--backend-url)', proxy, setExitCode);
  registerAdminCommands(program, setExitCode);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}

/**
 * A command that runs a server until SIGINT or SIGTERM, with the options of the config table that are its
 * own (`serve` leaves out those marked `only: 'proxy'`). A configuration problem is one line and exit 2; a
 * failure to start is exit 1.
 */
function registerServerCommand(program: Command, name: 'serve' | 'proxy', description: string, run: (config: Config, logger: Logger) => Promise<Running>, setExitCode: (code: number) => void): void {
  const command = program.command(name).description(description).option('--config <file>', 'JSON config file (flags win over env, env over the file)');
  for (const spec of SERVE_OPTIONS) {
    if (!spec.flag) continue; // secrets come from the environment only
    if (spec.only !== undefined && spec.only !== name) continue;
    const help = `${spec.description} [${spec.env.join(', ')}]${spec.default ? ` (default: ${spec.default})` : ''}`;
    command.option(`${spec.flag} <${spec.value ?? 'value'}>`, help);
  }
  // The gateway's stdio backend: everything after `--` is the command to run.
  if (name === 'proxy') command.argument('[backend...]', 'a stdio MCP server to run instead of --backend-url: portcullis proxy -- node server.js');
  command.action(async (...params: unknown[]) => {
    const backendCommand = name === 'proxy' ? (params[0] as string[]) : [];
    const options = params[name === 'proxy' ? 1 : 0] as RawConfig & { config?: string };
    const result = loadConfig(options, process.env, options.config);
    if (!result.ok) {
      for (const problem of result.problems) process.stderr.write(`portcullis: ${problem}\n`);
      setExitCode(2);
      return;
    }
    const logger = createLogger(result.config.logLevel);
    let running: Running;
    try {
      running = await run(backendCommand.length > 0 ? { ...result.config, backendCommand } : result.config, logger);
    } catch (error) {
      if (error instanceof CommandError) {
        process.stderr.write(`portcullis: ${error.message}\n`);
        setExitCode(error.exitCode);
        return;
      }
      process.stderr.write(`portcullis: cannot start: ${(error as Error).message}\n`);
      setExitCode(1);
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
}
