/**
 * The PostgreSQL store URL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME][&pool_max=N]`
 * (`postgresql://` too). `schema` and `pool_max` are Portcullis's own parameters and are taken out before
 * the URL reaches the driver; every other parameter (`sslmode`, `application_name`, `options`, …) is the
 * driver's. Checked when the store is opened, so a bad URL fails at start-up.
 */
import { StoreError } from '../errors.js';

/** Where a PostgreSQL store lives, as the adapter needs it. */
export interface PostgresLocation {
  /** The URL handed to the driver: without `schema`, `pool_max` and `options` (merged into {@link options}). */
  readonly connectionString: string;
  /** The schema holding the tables: `?schema=`, default `public`. */
  readonly schema: string;
  /** Connections in the pool at most: `?pool_max=`, default 10. */
  readonly poolMax: number;
  /** The server's startup `options`: the URL's own, then `search_path` set to {@link schema}. */
  readonly options: string;
  /** `host:port/database`, for messages and logs: never the user or the password. */
  readonly target: string;
}

export const DEFAULT_POOL_MAX = 10;
const MAX_POOL_MAX = 100;
const FORM = 'postgres://USER@HOST:PORT/DATABASE?schema=NAME';
/** Unquoted-style names only (lower case, so psql users need no quotes); `pg_` names are reserved by PostgreSQL. */
const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/**
 * Parses a store URL. Throws `StoreError('invalid_url')` naming what is wrong, never echoing the URL (it may
 * carry a password).
 *
 * @example
 * parsePostgresUrl('postgres://portcullis@db.internal:5432/portcullis?schema=tenant_a').target; // 'db.internal:5432/portcullis'
 */
export function parsePostgresUrl(url: string): PostgresLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError('invalid_url', `The PostgreSQL store URL is malformed: use ${FORM}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StoreError('invalid_url', `The PostgreSQL store URL must start with postgres:// or postgresql://: use ${FORM}`);
  }
  const params = parsed.searchParams;
  const schema = params.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreError('invalid_url', 'The PostgreSQL ?schema= must be 1-63 of a-z 0-9 _, not starting with a digit or pg_');
  }
  const poolMaxText = params.get('pool_max');
  const poolMax = poolMaxText === null ? DEFAULT_POOL_MAX : Number(poolMaxText);
  if (!/^\d+$/.test(poolMaxText ?? '1') || !(poolMax >= 1 && poolMax <= MAX_POOL_MAX)) {
    throw new StoreError('invalid_url', `The PostgreSQL ?pool_max= must be an integer from 1 to ${MAX_POOL_MAX}`);
  }
  const ownOptions = params.get('options');
  for (const name of ['schema', 'pool_max', 'options']) params.delete(name);
  // The driver would let the URL's `options` replace ours; merged here, the search path always applies.
  const searchPath = `-c search_path="${schema}"`;
  const host = decodeURIComponent(parsed.hostname) || params.get('host') || 'localhost';
  const port = parsed.port || params.get('port') || '5432';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || '(default database)';
  return {
    connectionString: parsed.toString(),
    schema,
    poolMax,
    options: ownOptions ? `${ownOptions} ${searchPath}` : searchPath,
    target: `${host}:${port}/${database}`,
  };
}
