/**
 * Lexing JSON held as UTF-8 bytes, for the readers that validate log lines without JSON.parse
 * (prediction-line.ts, outcome-line.ts). Every function returns the index just past what it read, or
 * -1 when the bytes are not certainly what it expects; callers then hand the line to JSON.parse + zod,
 * which decide and name the reason. So these only ever need to be right when they say yes.
 *
 * Bytes ≥ 0x80 pass through strings untouched: Node decodes invalid UTF-8 to U+FFFD without ever
 * swallowing an ASCII byte, so the structure seen here is the structure JSON.parse sees.
 */

import { isCalendarDay } from './calendar-day';

const QUOTE = 34;
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;

/** Facts about the last string or number lexed (module state: the readers are synchronous). */
export const lexed = {
  /** The string held an escape, so its bytes are not its value. */
  escaped: false,
  negative: false,
  intDigits: 0,
  firstDigit: 0,
  fracDigits: 0,
  /** Every fraction digit was 0. */
  fracZero: true,
  /** An exponent was present, with this many digits. */
  expDigits: -1,
};

let viewed: Buffer | undefined;
let view: Uint8Array = new Uint8Array(0);

/**
 * A plain Uint8Array over a Buffer's bytes, cached for the last Buffer asked about. V8 indexes a plain
 * typed array about twice as fast as a Buffer (a subclass), and the readers index every byte.
 */
export function bytesOf(b: Buffer): Uint8Array {
  if (b !== viewed) {
    viewed = b;
    view = new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
  return view;
}

/** Skips JSON whitespace (space, tab, CR, LF) from `i`. */
export function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i];
    if (c === 32 || c === 9 || c === 13 || c === 10) i++;
    else break;
  }
  return i;
}

const isHex = (c: number): boolean =>
  (c >= ZERO && c <= NINE) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** Lexes the string whose opening quote is at `i`; returns the index after its closing quote. */
export function lexString(b: Uint8Array, i: number, end: number): number {
  let escaped = false;
  i++;
  for (;;) {
    // Plain characters are the bulk: a tight loop over them, then one decision per stop.
    let c = 0;
    while (i < end && (c = b[i]) !== QUOTE && c !== BACKSLASH && c >= 32) i++;
    if (i >= end || c < 32) return -1;
    if (c === QUOTE) {
      lexed.escaped = escaped;
      return i + 1;
    }
    if (i + 1 >= end) return -1;
    escaped = true;
    const e = b[i + 1];
    if (e === 117) {
      if (i + 5 >= end || !isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5]))
        return -1;
      i += 6;
    } else if (
      e === QUOTE ||
      e === BACKSLASH ||
      e === 47 ||
      e === 98 ||
      e === 102 ||
      e === 110 ||
      e === 114 ||
      e === 116
    )
      i += 2;
    else return -1;
  }
}

/** Lexes the number starting at `i` (JSON grammar: -?int frac? exp?); facts land in {@link lexed}. */
export function lexNumber(b: Uint8Array, i: number, end: number): number {
  lexed.negative = false;
  lexed.fracDigits = 0;
  lexed.fracZero = true;
  lexed.expDigits = -1;
  if (i < end && b[i] === 45) {
    lexed.negative = true;
    i++;
  }
  if (i >= end) return -1;
  const intStart = i;
  const first = b[i];
  lexed.firstDigit = first - ZERO;
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) {
    i++;
    while (i < end && b[i] >= ZERO && b[i] <= NINE) i++;
  } else return -1;
  lexed.intDigits = i - intStart;
  if (i < end && b[i] === 46) {
    const s = ++i;
    while (i < end && b[i] >= ZERO && b[i] <= NINE) {
      if (b[i] !== ZERO) lexed.fracZero = false;
      i++;
    }
    if (i === s) return -1;
    lexed.fracDigits = i - s;
  }
  if (i < end && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (i < end && (b[i] === 43 || b[i] === 45)) i++;
    const s = i;
    while (i < end && b[i] >= ZERO && b[i] <= NINE) i++;
    if (i === s) return -1;
    lexed.expDigits = i - s;
  }
  return i;
}

/**
 * The last number lexed is certainly finite once parsed: without an exponent up to 300 integer digits
 * stay below 1e308; with a two-digit exponent, 200 digits do.
 */
export function lexedFinite(): boolean {
  return lexed.expDigits < 0 ? lexed.intDigits <= 300 : lexed.expDigits <= 2 && lexed.intDigits <= 200;
}

/** The last number lexed is certainly within [0, 1]: 0, 0.x…, 1 or 1.0…, written without an exponent. */
export function lexedUnit(): boolean {
  if (lexed.negative || lexed.expDigits >= 0 || lexed.intDigits !== 1) return false;
  return lexed.firstDigit === 0 || (lexed.firstDigit === 1 && lexed.fracZero);
}

/** Whether the literal `word` (true, false, null) is at `i`; returns the index after it, or -1. */
export function lexWord(b: Uint8Array, i: number, end: number, word: Uint8Array): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

/** Whether the bytes [start, end) are exactly `name`. */
export function bytesAre(b: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) if (b[start + k] !== name[k]) return false;
  return true;
}

/**
 * Decodes short strings that repeat across rows (labels, model versions) once and hands back the same
 * string after: fewer allocations per row and one copy in memory. Keeps the first `capacity` distinct
 * values; others are decoded each time.
 */
export class Utf8Interner {
  private readonly bytes: Uint8Array[] = [];
  private readonly strings: string[] = [];

  constructor(private readonly capacity = 32) {}

  /** The string of `buf` [start, end) (UTF-8), `view` being bytesOf(buf). */
  get(buf: Buffer, view: Uint8Array, start: number, end: number): string {
    for (let k = 0; k < this.bytes.length; k++) {
      if (bytesAre(view, start, end, this.bytes[k])) return this.strings[k];
    }
    const s = buf.toString('utf8', start, end);
    if (this.bytes.length < this.capacity && end - start <= 64) {
      this.bytes.push(view.slice(start, end));
      this.strings.push(s);
    }
    return s;
  }
}

/** An object key that JSON.parse would turn into a prototype-looking own property: leave to zod. */
export function isProtoKey(b: Uint8Array, start: number, end: number): boolean {
  return end - start === 9 && b[start] === 95 && b[start + 1] === 95;
}

const digit = (b: Uint8Array, i: number): number => {
  const c = b[i] - ZERO;
  return c >= 0 && c <= 9 ? c : -100;
};
const two = (b: Uint8Array, i: number): number => digit(b, i) * 10 + digit(b, i + 1);

/**
 * Whether the bytes [start, end) are certainly an ISO-8601 timestamp with an offset, as
 * z.iso.datetime({ offset: true }) accepts: `YYYY-MM-DDTHH:MM:SS(.f{1,9})?(Z|±HH:MM)`, year ≥ 1000.
 */
export function isTimestampBytes(b: Uint8Array, start: number, end: number): boolean {
  if (end - start < 20) return false;
  const century = two(b, start);
  const year = two(b, start + 2);
  const mo = two(b, start + 5);
  const d = two(b, start + 8);
  if (century < 10 || year < 0 || mo < 0 || d < 0) return false;
  const y = century * 100 + year;
  if (b[start + 4] !== 45 || b[start + 7] !== 45 || b[start + 10] !== 84) return false;
  const h = two(b, start + 11);
  const mi = two(b, start + 14);
  const s = two(b, start + 17);
  if (b[start + 13] !== 58 || b[start + 16] !== 58) return false;
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return false;
  let i = start + 19;
  if (b[i] === 46) {
    const f = ++i;
    while (i < end && digit(b, i) >= 0) i++;
    if (i === f || i - f > 9) return false;
  }
  if (i === end - 1 && b[i] === 90) return isCalendarDay(y, mo, d);
  if (i !== end - 6 || (b[i] !== 43 && b[i] !== 45) || b[i + 3] !== 58) return false;
  const oh = two(b, i + 1);
  const om = two(b, i + 4);
  return oh >= 0 && oh <= 23 && om >= 0 && om <= 59 && isCalendarDay(y, mo, d);
}
