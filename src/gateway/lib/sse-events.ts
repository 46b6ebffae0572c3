/**
 * Server-Sent Events as the gateway relays them (HTML Living Standard, "Server-sent events", parsing): the
 * byte stream is cut into events at blank lines, each event kept as its text so it can go out unchanged
 * (`id`, `event`, `retry` and comment lines included) or with its `data` replaced. Line ends are
 * normalised to LF, which changes nothing for a reader.
 */
import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a stream of chunks into complete events (without their terminating blank line).
 *
 * @example
 * const splitter = new EventSplitter();
 * splitter.push(Buffer.from('id: 1\ndata: {"a":1}\n\ndata: {')); // ['id: 1\ndata: {"a":1}']
 */
export class EventSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #buffer = '';
  /** The last chunk ended with CR: an LF starting the next one belongs to the same line end. */
  #cr = false;

  push(chunk: Buffer): string[] {
    let text = this.#decoder.write(chunk);
    if (this.#cr && text.startsWith('\n')) text = text.slice(1);
    this.#cr = text.endsWith('\r');
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    this.#buffer += text;
    const events: string[] = [];
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) !== -1) {
      events.push(this.#buffer.slice(0, end));
      this.#buffer = this.#buffer.slice(end + 2);
    }
    return events;
  }

  /** What is left after the last complete event (an event the stream never finished). */
  rest(): string {
    return this.#buffer + this.#decoder.end();
  }
}

/** The `data` of an event (its data lines joined with LF), or undefined when it has none. */
export function eventData(event: string): string | undefined {
  let data: string | undefined;
  for (const line of event.split('\n')) {
    if (line !== 'data' && !line.startsWith('data:')) continue;
    const value = line.length > 5 && line[5] === ' ' ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

/** The event with its data lines replaced by one line holding `data` (which has no line break). */
export function withData(event: string, data: string): string {
  const lines: string[] = [];
  let placed = false;
  for (const line of event.split('\n')) {
    if (line !== 'data' && !line.startsWith('data:')) lines.push(line);
    else if (!placed) {
      lines.push(`data: ${data}`);
      placed = true;
    }
  }
  return lines.join('\n');
}
