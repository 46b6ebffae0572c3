import type { Command } from 'commander';
import { hashPassword } from '../authorization-server/passwords.js';
import { checkPassword, checkUsername, generatePassword } from '../authorization-server/users.js';
import { StoreError } from '../stores/errors.js';
import { addConfigOptions, failure, out, runAdmin, splitList, usage, type SetExitCode } from './lib/admin.js';
import { checkScopes, resourceScopes } from './lib/embedded.js';

interface PasswordOptions {
  password?: string;
}

/**
 * `portcullis users add|list|remove|passwd`: the people who can log in to the embedded authorization
 * server. Passwords come from `--password`, else `PORTCULLIS_PASSWORD`, else a random one is generated and
 * printed once (stdout), so every command stays scriptable. Passwords are stored as scrypt hashes.
 *
 * @example
 * portcullis users add alice --scope "incidents:read"            # prints a generated password
 * PORTCULLIS_PASSWORD=s3cret-pass portcullis users passwd alice
 */
export function registerUsersCommand(program: Command, setExitCode: SetExitCode): void {
  const users = program.command('users').description('manage the users of the embedded authorization server');

  addConfigOptions(
    users
      .command('add <name>')
      .description('add a user (password: --password, else PORTCULLIS_PASSWORD, else generated and printed)')
      .option('--password <password>', 'the password (prefer PORTCULLIS_PASSWORD: flags show in `ps`)')
      .option('--scope <scopes>', "scopes the user may grant (default: the resource's scopes, without mcp:admin)"),
    ['store', 'toolScopes', 'logLevel'],
  ).action((name: string, options: PasswordOptions & { scope?: string; store?: string }) =>
    runAdmin(options, setExitCode, async ({ config, store }) => {
      const nameProblem = checkUsername(name);
      if (nameProblem) throw usage(nameProblem);
      const scopes = resourceScopes(config, store);
      const requested = options.scope === undefined ? [...scopes.defaults] : splitList(options.scope);
      checkScopes(requested, scopes);
      const { password, generated } = choosePassword(options);
      try {
        await store.users.create({ username: name, passwordHash: await hashPassword(password), scopes: requested });
      } catch (error) {
        if (error instanceof StoreError && error.code === 'conflict') throw failure(`a user named ${name} exists already (use users passwd to change the password)`);
        throw error;
      }
      out(`added user ${name} (scopes: ${requested.join(' ') || 'none'})`);
      if (generated) out(`password: ${password}`);
    }),
  );

  addConfigOptions(users.command('list').description('list the users').option('--json', 'print JSON'), ['store', 'logLevel']).action(
    (options: { json?: boolean }) =>
      runAdmin(options, setExitCode, async ({ store }) => {
        const all = await store.users.list();
        if (options.json) {
          out(JSON.stringify(all.map((u) => ({ username: u.username, id: u.id, scopes: u.scopes, created_at: u.createdAt }))));
          return;
        }
        if (all.length === 0) return out('no users');
        for (const user of all) out(`${user.username}\t${user.scopes.join(' ') || '-'}\tcreated ${iso(user.createdAt)}`);
      }),
  );

  addConfigOptions(users.command('remove <name>').description('remove a user and everything granted on their behalf'), ['store', 'logLevel']).action(
    (name: string, options: object) =>
      runAdmin(options, setExitCode, async ({ store }) => {
        if (!(await store.users.remove(name))) throw failure(`no user named ${name}`);
        out(`removed user ${name}`);
      }),
  );

  addConfigOptions(
    users
      .command('passwd <name>')
      .description("set a user's password (--password, else PORTCULLIS_PASSWORD, else generated and printed)")
      .option('--password <password>', 'the new password (prefer PORTCULLIS_PASSWORD)'),
    ['store', 'logLevel'],
  ).action((name: string, options: PasswordOptions) =>
    runAdmin(options, setExitCode, async ({ store }) => {
      const { password, generated } = choosePassword(options);
      const updated = await store.users.update(name, { passwordHash: await hashPassword(password) });
      if (!updated) throw failure(`no user named ${name}`);
      out(`changed the password of ${name}`);
      if (generated) out(`password: ${password}`);
    }),
  );
}

function choosePassword(options: PasswordOptions): { password: string; generated: boolean } {
  const given = options.password ?? (process.env.PORTCULLIS_PASSWORD || undefined);
  if (given === undefined) return { password: generatePassword(), generated: true };
  const problem = checkPassword(given);
  if (problem) throw usage(`${options.password === undefined ? 'PORTCULLIS_PASSWORD' : '--password'}: ${problem}`);
  return { password: given, generated: false };
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
