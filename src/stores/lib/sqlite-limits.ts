/**
 * Rate-limit windows and cached client ID metadata documents in SQLite (`rate_limits`, `cimd_cache`).
 * `hit` is one upsert statement with `RETURNING`: SQLite runs it under the write lock, so concurrent hits
 * from any number of processes each count once and each see a distinct count. Both tables are swept on
 * their own paths (see `sweep.ts`); an expired entry is never answered.
 */
import type { Statement } from 'better-sqlite3';
import type { CimdCacheStore, RateLimitStore } from '../auth-types.js';
import { checkTime, parseFrozenJson } from './auth-checks.js';
import { checkCimdEntry, checkRateLimit } from './auth-records.js';
import type { SqliteAuthContext } from './sqlite-auth-shared.js';

interface HitParams {
  key: string;
  windowSeconds: number;
  windowStart: number;
  expiresAt: number;
}

export class SqliteRateLimitStore implements RateLimitStore {
  readonly #sweep: Statement<[number]>;
  readonly #hit: Statement<[HitParams], { count: number }>;
  readonly #reset: Statement<[string]>;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#sweep = db.prepare('DELETE FROM rate_limits WHERE expires_at <= ?');
    // In DO UPDATE, bare column names are the stored row's values before the update. A later window
    // restarts the count; the same window (or an earlier one, from a caller whose clock lags) adds one.
    this.#hit = db.prepare(`INSERT INTO rate_limits (key, window_seconds, window_start, expires_at, count)
      VALUES (:key, :windowSeconds, :windowStart, :expiresAt, 1)
      ON CONFLICT (key, window_seconds) DO UPDATE SET
        count = CASE WHEN excluded.window_start > window_start THEN 1 ELSE count + 1 END,
        expires_at = CASE WHEN excluded.window_start > window_start THEN excluded.expires_at ELSE expires_at END,
        window_start = max(window_start, excluded.window_start)
      RETURNING count`);
    this.#reset = db.prepare('DELETE FROM rate_limits WHERE key = ?');
  }

  async hit(key: string, windowSeconds: number, now: number): Promise<number> {
    checkRateLimit(key, windowSeconds, now);
    const windowStart = now - (now % windowSeconds);
    return this.ctx.guard(() => {
      if (this.ctx.sweeps.due('rateLimits', now)) this.#sweep.run(now);
      return this.#hit.get({ key, windowSeconds, windowStart, expiresAt: windowStart + windowSeconds })!.count;
    });
  }

  async reset(key: string): Promise<void> {
    if (typeof key !== 'string') return;
    this.ctx.guard(() => this.#reset.run(key));
  }
}

export class SqliteCimdCacheStore implements CimdCacheStore {
  readonly #sweep: Statement<[number]>;
  readonly #get: Statement<[string, number], { document: string }>;
  readonly #put: Statement<[string, string, number]>;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#sweep = db.prepare('DELETE FROM cimd_cache WHERE expires_at <= ?');
    this.#get = db.prepare('SELECT document FROM cimd_cache WHERE url = ? AND expires_at > ?');
    this.#put = db.prepare(`INSERT INTO cimd_cache (url, document, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (url) DO UPDATE SET document = excluded.document, expires_at = excluded.expires_at`);
  }

  async get(url: string, now: number): Promise<Readonly<Record<string, unknown>> | undefined> {
    checkTime('metadata document', 'now', now);
    if (typeof url !== 'string') return undefined;
    const row = this.ctx.guard(() => {
      if (this.ctx.sweeps.due('cimd', now)) this.#sweep.run(now);
      return this.#get.get(url, now);
    });
    return row && parseFrozenJson(row.document);
  }

  async put(url: string, document: Readonly<Record<string, unknown>>, expiresAt: number): Promise<void> {
    const { json } = checkCimdEntry(url, document, expiresAt);
    this.ctx.guard(() => this.#put.run(url, json, expiresAt));
  }
}
