/**
 * Many instances behind one URL, on every store that can be shared between processes: SQLite (one host),
 * Redis and PostgreSQL. See test/helpers/many-instances.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manyInstancesSuite } from '../helpers/many-instances.js';
import { postgresTarget, redisTarget } from '../helpers/shared-stores.js';

manyInstancesSuite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-many-'));
  return { url: `sqlite:${join(dir, 'shared.db')}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

manyInstancesSuite('Redis', async () => redisTarget());

manyInstancesSuite('PostgreSQL', async () => postgresTarget());
