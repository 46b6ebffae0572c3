/**
 * Newline-delimited framing, as the MCP stdio transport uses it (spec 2025-11-25, basic/transports, "stdio":
 * messages are delimited by newlines and MUST NOT contain embedded newlines), with a bound: a line longer
 * than `maxBytes` is never held whole. Its first bytes are kept for the log and the rest is dropped as it
 * arrives, so a process printing an endless line costs the gateway a constant amount of memory.
 *
 * Lines are cut at the byte 0x0A, which never occurs inside a multi-byte UTF-8 sequence, so decoding each
 * line on its own is exact. A CR before the LF is dropped; empty lines are skipped.
 */

/** How many bytes of an oversized line are kept for the log. */
const PREFIX_BYTES = 32;

/** What a splitter reports about a line it skipped. */
export interface OversizedLine {
  /** The line's first bytes (at most 32), decoded: enough to recognise it, too little to leak much. */
  readonly prefix: string;
  /** Its whole length in bytes. */
  readonly bytes: number;
}

/**
 * Cuts chunks of a byte stream into lines of at most `maxBytes` bytes.
 *
 * @example
 * const splitter = new LineSplitter(4 * 1024 * 1024, (line) => handle(line), (skipped) => log.warn(skipped));
 * child.stdout.on('data', (chunk: Buffer) => splitter.push(chunk));
 */
export class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;
  /** The line being read is over the limit: its bytes are counted, not kept. */
  #skipping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversized: (line: OversizedLine) => void,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new TypeError('LineSplitter: maxBytes must be a positive integer');
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      this.#append(chunk.subarray(start, newline === -1 ? chunk.length : newline));
      if (newline === -1) return;
      this.#finish();
      start = newline + 1;
    }
  }

  /** Ends the stream: a last line without its newline is still a line. */
  end(): void {
    if (this.#size > 0) this.#finish();
  }

  #append(part: Buffer): void {
    if (part.length === 0) return;
    this.#size += part.length;
    if (this.#skipping) return;
    if (this.#size <= this.maxBytes) {
      this.#parts.push(part);
      return;
    }
    // Over the limit: keep only the prefix for the report, and nothing more of this line.
    const kept = Buffer.concat([...this.#parts, part]).subarray(0, PREFIX_BYTES);
    this.#parts = [kept];
    this.#skipping = true;
  }

  #finish(): void {
    const parts = this.#parts;
    const size = this.#size;
    const skipped = this.#skipping;
    this.#parts = [];
    this.#size = 0;
    this.#skipping = false;
    if (skipped) return this.onOversized({ prefix: parts[0]!.toString('utf8'), bytes: size });
    let line = (parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length > 0) this.onLine(line);
  }
}
