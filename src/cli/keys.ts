import type { Command } from 'commander';
import { signingKey } from '../authorization-server/keys.js';
import type { SigningKeyRecord } from '../stores/auth-types.js';
import { addConfigOptions, nowSeconds, out, runAdmin, type SetExitCode } from './lib/admin.js';
import { openKeyRing } from './lib/embedded.js';

/**
 * `portcullis keys list|rotate`: the signing keys of the embedded authorization server.
 *
 * `rotate` publishes a new key at once and lets it sign only after the propagation delay (10 min), so
 * resource servers holding a cached JWKS learn it before they meet a token it signed; the keys before it
 * stay published until their last tokens have expired (activation + access-token lifetime). A running
 * `serve` on the same store picks the change up within a minute. Pass the same `--access-token-ttl` as serve.
 *
 * @example
 * portcullis keys rotate --store sqlite:./data/portcullis.db
 * portcullis keys list
 */
export function registerKeysCommand(program: Command, setExitCode: SetExitCode): void {
  const keys = program.command('keys').description('manage the signing keys of the embedded authorization server');

  addConfigOptions(keys.command('list').description('list the published keys and which one signs').option('--json', 'print JSON'), ['store', 'logLevel']).action(
    (options: { json?: boolean }) =>
      runAdmin(options, setExitCode, async ({ store }) => {
        // Read-only: list what is there without creating the first key (serve or `keys rotate` does that).
        const now = nowSeconds();
        const records = await store.keys.list(now);
        const rows = records.map((record) => ({ kid: record.kid, status: status(record, records, now), ...times(record) }));
        if (options.json) return out(JSON.stringify(rows));
        if (rows.length === 0) return out('no signing keys yet (serve creates the first one)');
        for (const row of rows) {
          out(`${row.kid}\t${row.status}\tcreated ${row.created_at}\tsigns from ${row.activates_at}${row.retires_at ? `\tretires ${row.retires_at}` : ''}`);
        }
      }),
  );

  addConfigOptions(keys.command('rotate').description('add a new signing key (published now, signing after 10 minutes)'), ['store', 'logLevel', 'accessTokenTtl']).action(
    (options: object) =>
      runAdmin(options, setExitCode, async ({ config, store, logger }) => {
        const ring = await openKeyRing(config, store, logger);
        const record = await ring.rotate();
        const { activates_at } = times(record);
        out(`added key ${record.kid}: published now, signs from ${activates_at}`);
        for (const old of await ring.records()) {
          if (old.kid !== record.kid && old.retiresAt !== undefined) out(`key ${old.kid} retires at ${times(old).retires_at}`);
        }
      }),
  );
}

function status(record: SigningKeyRecord, all: readonly SigningKeyRecord[], now: number): 'signing' | 'pending' | 'retiring' | 'published' {
  if (signingKey(all, now)?.kid === record.kid) return 'signing';
  if (record.activatesAt > now) return 'pending';
  return record.retiresAt !== undefined ? 'retiring' : 'published';
}

function times(record: SigningKeyRecord): { created_at: string; activates_at: string; retires_at: string | undefined } {
  const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { created_at: iso(record.createdAt), activates_at: iso(record.activatesAt), retires_at: record.retiresAt === undefined ? undefined : iso(record.retiresAt) };
}
