/**
 * Tells the benchmark where a server listens, the way `portcullis serve` does: one JSON line on stdout
 * with `msg: "listening"` and the `url` to load.
 */
export function announce(url: string): void {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url })}\n`);
}

/** Stops on SIGTERM/SIGINT so the orchestrator's stop (and `--cpu-prof`, when used) ends cleanly. */
export function exitOnSignal(close: () => void): void {
  const stop = (): void => {
    close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
