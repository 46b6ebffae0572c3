/**
 * A row that cannot run for a reason outside the bench (Portcullis not built, Redis or PostgreSQL not
 * reachable): the row is reported as skipped with this message, and the run still succeeds. Any other
 * error while starting a row is a failure (exit code 1).
 *
 * @example
 * if (!existsSync('dist/cli/main.js')) throw new RowUnavailable('dist/cli/main.js is missing: run `npm run build` first');
 */
export class RowUnavailable extends Error {
  override readonly name = 'RowUnavailable';
}
