/**
 * Debian's Chromium driven by playwright-core for the browser tests (never a downloaded browser), with the
 * flags this machine's closed network needs. A missing browser or library is a skip with its reason.
 */
import { existsSync } from 'node:fs';

/** Debian's Chromium; `PORTCULLIS_CHROMIUM` points elsewhere (another distribution, macOS). */
export const CHROMIUM = process.env.PORTCULLIS_CHROMIUM || '/usr/bin/chromium';

/** Headless, and nothing that reaches for the network on its own (refused here, many at a time). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export type Playwright = typeof import('playwright-core');

/** playwright-core, or why the browser tests skip. */
export async function loadPlaywright(): Promise<{ playwright?: Playwright; skip?: string }> {
  if (!existsSync(CHROMIUM)) return { skip: `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium, or set PORTCULLIS_CHROMIUM)` };
  try {
    return { playwright: await import('playwright-core') };
  } catch {
    return { skip: 'playwright-core is not installed (it is a devDependency: npm install)' };
  }
}
