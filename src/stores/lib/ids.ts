import { randomInt } from 'node:crypto';

/** Crockford base32: no I, L, O, U, so ids read aloud and typed by hand survive; digits sort before letters. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 7; // 35 bits of seconds since the epoch: good until the year 3058
const RANDOM_CHARS = 6; // 30 bits: ~1e9 values per second
const RANDOM_SPACE = 32 ** RANDOM_CHARS;

/** Generates an incident id for a record created at `createdAtMs`. */
export type IdGenerator = (createdAtMs: number) => string;

/** Matches ids made by {@link createIncidentIdGenerator}. */
export const INCIDENT_ID_PATTERN = /^INC-[0-9A-HJKMNP-TV-Z]{13}$/;

/**
 * Makes incident ids: `INC-` + 7 base32 characters of the creation second + 6 random ones, e.g.
 * `INC-1KCXMZ4G7T2VB`. Ids sort by creation time (to the second) as plain strings; within one second, one
 * generator hands out increasing ids (the random part is incremented, as in ULID's monotonic mode), so a
 * process's own ids keep their order. Across processes, uniqueness rests on the 30 random bits and, in the
 * end, on the store's unique constraint: stores retry with a fresh id on the (rare) collision.
 *
 * The random part is not a secret (anyone with `incidents:read` lists every id), but it keeps ids from
 * being enumerable by counting.
 *
 * @example
 * const nextId = createIncidentIdGenerator();
 * nextId(Date.now()); // 'INC-1KCXMZ4G7T2VB'
 */
export function createIncidentIdGenerator(random: (max: number) => number = (max) => randomInt(max)): IdGenerator {
  let lastSecond = -1;
  let lastRandom = 0;
  return (createdAtMs) => {
    const second = Math.max(0, Math.floor(createdAtMs / 1000));
    if (second === lastSecond && lastRandom + 1 < RANDOM_SPACE) {
      lastRandom += 1 + random(1024); // increasing, still not predictable from the previous id
      if (lastRandom >= RANDOM_SPACE) lastRandom = random(RANDOM_SPACE);
    } else {
      lastRandom = random(RANDOM_SPACE);
    }
    lastSecond = second;
    return `INC-${encode(second, TIME_CHARS)}${encode(lastRandom, RANDOM_CHARS)}`;
  };
}

/** Fixed-width base32 of a non-negative integer below 2^53. */
function encode(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** Store ids with this many attempts at most before giving up on a unique-constraint collision. */
export const ID_ATTEMPTS = 5;
