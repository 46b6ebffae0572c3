/**
 * Rate-limit windows and cached client ID metadata documents in PostgreSQL (`rate_limits`, `cimd_cache`).
 * `hit` is one upsert statement with `RETURNING`: concurrent hits on one window, from any number of
 * processes, queue on the row lock and each sees the row as the previous one left it, so each counts once
 * and gets a distinct count. Both tables are swept on their own paths (see `sweep.ts`); an expired entry is
 * never answered.
 */
import type { CimdCacheStore, RateLimitStore } from '../auth-types.js';
import { checkTime, parseFrozenJson } from './auth-checks.js';
import { checkCimdEntry, checkRateLimit } from './auth-records.js';
import type { PostgresContext } from './postgres-connection.js';

export class PostgresRateLimitStore implements RateLimitStore {
  constructor(private readonly ctx: PostgresContext) {}

  async hit(key: string, windowSeconds: number, now: number): Promise<number> {
    checkRateLimit(key, windowSeconds, now);
    const windowStart = now - (now % windowSeconds);
    if (this.ctx.sweeps.due('rateLimits', now)) await this.ctx.run('DELETE FROM rate_limits WHERE expires_at <= $1', [now]);
    // In DO UPDATE, `r.` is the stored row before the update, `excluded.` the proposed one. A later window
    // restarts the count; the same window (or an earlier one, from a caller whose clock lags) adds one.
    const row = await this.ctx.get<{ count: number }>(
      `INSERT INTO rate_limits AS r (key, window_seconds, window_start, expires_at, count) VALUES ($1, $2, $3, $4, 1)
        ON CONFLICT (key, window_seconds) DO UPDATE SET
          count = CASE WHEN excluded.window_start > r.window_start THEN 1 ELSE r.count + 1 END,
          expires_at = CASE WHEN excluded.window_start > r.window_start THEN excluded.expires_at ELSE r.expires_at END,
          window_start = greatest(r.window_start, excluded.window_start)
        RETURNING count`,
      [key, windowSeconds, windowStart, windowStart + windowSeconds],
    );
    return row!.count;
  }

  async reset(key: string): Promise<void> {
    if (typeof key !== 'string') return;
    await this.ctx.run('DELETE FROM rate_limits WHERE key = $1', [key]);
  }
}

export class PostgresCimdCacheStore implements CimdCacheStore {
  constructor(private readonly ctx: PostgresContext) {}

  async get(url: string, now: number): Promise<Readonly<Record<string, unknown>> | undefined> {
    checkTime('metadata document', 'now', now);
    if (typeof url !== 'string') return undefined;
    if (this.ctx.sweeps.due('cimd', now)) await this.ctx.run('DELETE FROM cimd_cache WHERE expires_at <= $1', [now]);
    const row = await this.ctx.get<{ document: string }>('SELECT document FROM cimd_cache WHERE url = $1 AND expires_at > $2', [url, now]);
    return row && parseFrozenJson(row.document);
  }

  async put(url: string, document: Readonly<Record<string, unknown>>, expiresAt: number): Promise<void> {
    const { json } = checkCimdEntry(url, document, expiresAt);
    await this.ctx.run(
      `INSERT INTO cimd_cache (url, document, expires_at) VALUES ($1, $2, $3)
        ON CONFLICT (url) DO UPDATE SET document = excluded.document, expires_at = excluded.expires_at`,
      [url, json, expiresAt],
    );
  }
}
