import type { Command } from 'commander';
import { registerClientsCommand } from './clients.js';
import { registerKeysCommand } from './keys.js';
import type { SetExitCode } from './lib/admin.js';
import { registerTokenCommand } from './token.js';
import { registerUsersCommand } from './users.js';

/**
 * Registers the commands that manage the embedded authorization server beside `serve` (ARCHITECTURE §4):
 * `token`, `users add|list|remove|passwd`, `clients add|list|remove`, `keys list|rotate`. Each takes the
 * same `--store` (and `--config`) as serve and works beside a running server on the same SQLite file.
 * Each reports its exit code through `setExitCode`: 0 done, 1 failure, 2 bad usage or configuration.
 *
 * @example
 * registerAdminCommands(program, (code) => (exitCode = code));
 */
export function registerAdminCommands(program: Command, setExitCode: SetExitCode): void {
  registerTokenCommand(program, setExitCode);
  registerUsersCommand(program, setExitCode);
  registerClientsCommand(program, setExitCode);
  registerKeysCommand(program, setExitCode);
}
