/**
 * Short-lived counters and caches in memory: rate-limit windows and client ID metadata documents. Both
 * expire; both are swept on their own paths (see `sweep.ts`), and an expired entry is never answered.
 */
import type { CimdCacheStore, RateLimitStore } from '../auth-types.js';
import { checkTime } from './auth-checks.js';
import { checkCimdEntry, checkRateLimit } from './auth-records.js';
import { assertOpen, type MemoryAuthState } from './memory-auth-state.js';

export class MemoryRateLimitStore implements RateLimitStore {
  constructor(private readonly state: MemoryAuthState) {}

  async hit(key: string, windowSeconds: number, now: number): Promise<number> {
    assertOpen(this.state);
    checkRateLimit(key, windowSeconds, now);
    const { rateLimits } = this.state;
    if (this.state.sweeps.due('rateLimits', now)) {
      for (const [k, windows] of rateLimits) {
        for (const [length, window] of windows) if (window.expiresAt <= now) windows.delete(length);
        if (windows.size === 0) rateLimits.delete(k);
      }
    }
    // One counter per key and window length: a key may be limited per minute and per hour at once.
    let windows = rateLimits.get(key);
    if (!windows) rateLimits.set(key, (windows = new Map()));
    const windowStart = now - (now % windowSeconds);
    const window = windows.get(windowSeconds);
    if (!window || windowStart > window.windowStart) {
      windows.set(windowSeconds, { windowStart, expiresAt: windowStart + windowSeconds, count: 1 });
      return 1;
    }
    // Same window, or a caller whose clock is behind the one that opened this window: count it here.
    return ++window.count;
  }

  async reset(key: string): Promise<void> {
    assertOpen(this.state);
    if (typeof key === 'string') this.state.rateLimits.delete(key);
  }
}

export class MemoryCimdCacheStore implements CimdCacheStore {
  constructor(private readonly state: MemoryAuthState) {}

  async get(url: string, now: number): Promise<Readonly<Record<string, unknown>> | undefined> {
    assertOpen(this.state);
    checkTime('metadata document', 'now', now);
    if (this.state.sweeps.due('cimd', now)) {
      for (const [k, entry] of this.state.cimd) if (entry.expiresAt <= now) this.state.cimd.delete(k);
    }
    const entry = typeof url === 'string' ? this.state.cimd.get(url) : undefined;
    return entry && entry.expiresAt > now ? entry.document : undefined;
  }

  async put(url: string, document: Readonly<Record<string, unknown>>, expiresAt: number): Promise<void> {
    assertOpen(this.state);
    const checked = checkCimdEntry(url, document, expiresAt);
    this.state.cimd.set(url, { document: checked.value, expiresAt });
  }
}
