/**
 * Why a store refused: `invalid_record` (the input breaks a rule; nothing was stored), `conflict` (the record
 * would take a unique name that is taken — a username, client id, grant id, token hash or key id; nothing
 * was stored), `invalid_url` (the store URL names nothing we can open), `unavailable` (the backing database
 * is busy or down; retry later, a server answers 503), `closed` (the store was closed), `incompatible` (the
 * data was written by a newer Portcullis, with migrations this one does not know).
 */
export type StoreErrorCode = 'invalid_record' | 'conflict' | 'invalid_url' | 'unavailable' | 'closed' | 'incompatible';

/**
 * A typed store failure. The message is safe to show to an operator; it never contains record contents.
 *
 * @example
 * try { await store.incidents.create(input); }
 * catch (err) { if (err instanceof StoreError && err.code === 'invalid_record') { ... } }
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

