import {
  bytesAre,
  bytesOf,
  isProtoKey,
  isTimestampBytes,
  lexed,
  lexedFinite,
  lexedUnit,
  lexNumber,
  lexString,
  lexWord,
  skipSpace,
  Utf8Interner,
} from './json-bytes';
import { FeatureKindBytes } from './line-rules';
import type { PredictionRow } from './records';

/**
 * What ingest needs from a prediction line it has validated: the join key and what the window summary
 * counts. The line itself is kept as bytes and spliced into the joined row.
 */
export type PredictionFacts = Pick<PredictionRow, 'requestId' | 'modelVersion' | 'predictedLabel' | 'role'>;

const name = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const TRUE = name('true');
const FALSE = name('false');
const NULL = name('null');

const K = {
  requestId: 1,
  timestamp: 2,
  modelId: 4,
  modelVersion: 8,
  entityId: 16,
  features: 32,
  predictedLabel: 64,
  scores: 128,
  slices: 256,
  role: 512,
  latencyMs: 1024,
} as const;
const REQUIRED =
  K.requestId | K.timestamp | K.modelId | K.modelVersion | K.features | K.predictedLabel | K.scores;
const KEYS = Object.entries(K).map(([k, bit]) => ({ bytes: name(k), bit }));
const ROLES = ['champion', 'canary', 'shadow'] as const;
const ROLE_BYTES = ROLES.map(name);
const versions = new Utf8Interner();
const labels = new Utf8Interner();

/** Keys by their length and first two bytes, so a key costs one comparison. */
const keyCode = (b: Uint8Array, start: number, end: number): number =>
  (end - start) * 65536 + b[start] * 256 + b[start + 1];
const KEY_AT = new Map(KEYS.map((k) => [keyCode(k.bytes, 0, k.bytes.length), k]));
if (KEY_AT.size !== KEYS.length) throw new Error('prediction keys must differ in length or first letters');

function keyBit(b: Uint8Array, start: number, end: number): number {
  const k = KEY_AT.get(keyCode(b, start, end));
  return k && bytesAre(b, start, end, k.bytes) ? k.bit : 0;
}

/** Whether the 10-byte date at a[i] sorts before the one at b[j] (both ASCII `YYYY-MM-DD`). */
function dayBefore(a: Uint8Array, i: number, b: Uint8Array, j = 0): boolean {
  for (let k = 0; k < 10; k++) if (a[i + k] !== b[j + k]) return a[i + k] < b[j + k];
  return false;
}

/** `[a-z0-9][a-z0-9_-]{0,62}`, as ModelIdSchema requires. */
function isModelIdBytes(b: Uint8Array, start: number, end: number): boolean {
  if (end <= start || end - start > 63) return false;
  for (let i = start; i < end; i++) {
    const c = b[i];
    const alnum = (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    if (!alnum && (i === start || (c !== 95 && c !== 45))) return false;
  }
  return true;
}

/** The byte at `i`, or -1 past the line's end (a run holds the next lines after it). */
const at = (b: Uint8Array, i: number, end: number): number => (i < end ? b[i] : -1);

/** Kinds of object the prediction row holds, by what their values must be. */
const FEATURES = 0;
const SCORES = 1;
const SLICES = 2;

/**
 * Lexes a features / scores / slices object at `i`; -1 unless every entry is certainly valid. With
 * `kinds`, a known feature must also hold a value of its kind (or null).
 */
function lexObject(b: Uint8Array, i: number, end: number, kind: number, kinds?: FeatureKindBytes): number {
  if (at(b, i, end) !== 123) return -1;
  i = b[i + 1] > 32 ? i + 1 : skipSpace(b, i + 1, end);
  if (at(b, i, end) === 125) return i + 1;
  for (;;) {
    if (at(b, i, end) !== 34) return -1;
    const ks = i + 1;
    i = lexString(b, i, end);
    // Escaped keys might spell anything once decoded; features also need a non-empty name.
    if (i < 0 || lexed.escaped || isProtoKey(b, ks, i - 1) || (kind === FEATURES && i - 1 === ks)) return -1;
    i = b[i] > 32 ? i : skipSpace(b, i, end);
    const fk = kinds && kind === FEATURES ? kinds.kindOf(b, ks, i - 1) : 0;
    if (at(b, i, end) !== 58) return -1;
    i = b[i + 1] > 32 ? i + 1 : skipSpace(b, i + 1, end);
    const c = at(b, i, end);
    if (c === 34) {
      if (kind === SCORES || fk === FeatureKindBytes.NUMERIC || fk === FeatureKindBytes.BOOLEAN) return -1;
      i = lexString(b, i, end);
    } else if (kind === SLICES) return -1;
    else if (c === 45 || (c >= 48 && c <= 57)) {
      if (fk === FeatureKindBytes.CATEGORICAL || fk === FeatureKindBytes.BOOLEAN) return -1;
      i = lexNumber(b, i, end);
      if (i < 0 || (kind === SCORES ? !lexedUnit() : !lexedFinite())) return -1;
    } else if (kind === SCORES) return -1;
    else if (
      (c === 116 || c === 102) &&
      (fk === FeatureKindBytes.NUMERIC || fk === FeatureKindBytes.CATEGORICAL)
    )
      return -1;
    else if (c === 116) i = lexWord(b, i, end, TRUE);
    else if (c === 102) i = lexWord(b, i, end, FALSE);
    else if (c === 110) i = lexWord(b, i, end, NULL);
    else return -1;
    if (i < 0) return -1;
    i = b[i] > 32 ? i : skipSpace(b, i, end);
    const next = at(b, i, end);
    if (next === 44) i = b[i + 1] > 32 ? i + 1 : skipSpace(b, i + 1, end);
    else if (next === 125) return i + 1;
    else return -1;
  }
}

/**
 * Validates the prediction log line held in bytes [start, end) without building the row, and returns
 * what ingest needs from it; undefined when it is not certainly a valid PredictionRow (then JSON.parse +
 * PredictionRowSchema decide and name the reason). It says yes only to the plainest spelling: a
 * top-level object of the schema's own keys, each once, with no escapes in the values it returns and no
 * nested values in features. It is held to agree with zod by a property test. With `kinds` (the
 * champion's feature kinds) it also says no to a known feature holding a value of another kind, as
 * ruleProblem (line-rules.ts) does after zod; string sizes are the caller's to check (see ingest-shard.ts).
 */
export function readPredictionLine(
  buf: Buffer,
  start: number,
  end: number,
  kinds?: FeatureKindBytes,
  days?: { from: Uint8Array; to: Uint8Array },
): PredictionFacts | undefined {
  const b = bytesOf(buf);
  if (start >= end || b[start] !== 123) return undefined;
  let i = b[start + 1] > 32 ? start + 1 : skipSpace(b, start + 1, end);
  let seen = 0;
  let requestId: [number, number] | undefined;
  let modelVersion: [number, number] | undefined;
  let predictedLabel: [number, number] | undefined;
  let role: PredictionFacts['role'];
  for (;;) {
    if (at(b, i, end) !== 34) return undefined;
    const ks = i + 1;
    i = lexString(b, i, end);
    if (i < 0 || lexed.escaped) return undefined;
    const bit = keyBit(b, ks, i - 1);
    if (bit === 0 || seen & bit) return undefined;
    seen |= bit;
    i = b[i] > 32 ? i : skipSpace(b, i, end);
    if (at(b, i, end) !== 58) return undefined;
    i = b[i + 1] > 32 ? i + 1 : skipSpace(b, i + 1, end);
    const vs = i + 1;
    if (bit === K.features || bit === K.scores || bit === K.slices) {
      i = lexObject(b, i, end, bit === K.features ? FEATURES : bit === K.scores ? SCORES : SLICES, kinds);
    } else if (bit === K.latencyMs) {
      if (at(b, i, end) === 45) return undefined;
      i = lexNumber(b, i, end);
      if (i < 0 || !lexedFinite()) return undefined;
    } else {
      if (at(b, i, end) !== 34) return undefined;
      i = lexString(b, i, end);
      if (i < 0 || lexed.escaped) return undefined;
      const ve = i - 1;
      switch (bit) {
        case K.requestId:
          if (ve === vs) return undefined;
          requestId = [vs, ve];
          break;
        case K.timestamp:
          if (!isTimestampBytes(b, vs, ve)) return undefined;
          if (days && (dayBefore(b, vs, days.from) || dayBefore(days.to, 0, b, vs))) return undefined;
          break;
        case K.modelId:
          if (!isModelIdBytes(b, vs, ve)) return undefined;
          break;
        case K.modelVersion:
          if (ve === vs) return undefined;
          modelVersion = [vs, ve];
          break;
        case K.predictedLabel:
          if (ve === vs) return undefined;
          predictedLabel = [vs, ve];
          break;
        case K.entityId:
          if (ve === vs) return undefined;
          break;
        case K.role: {
          const r = ROLE_BYTES.findIndex((x) => bytesAre(b, vs, ve, x));
          if (r < 0) return undefined;
          role = ROLES[r];
          break;
        }
      }
    }
    if (i < 0) return undefined;
    i = b[i] > 32 ? i : skipSpace(b, i, end);
    const next = at(b, i, end);
    if (next === 44) i = b[i + 1] > 32 ? i + 1 : skipSpace(b, i + 1, end);
    else if (next === 125) break;
    else return undefined;
  }
  if (skipSpace(b, i + 1, end) !== end || (seen & REQUIRED) !== REQUIRED) return undefined;
  return {
    requestId: buf.toString('utf8', requestId![0], requestId![1]),
    modelVersion: versions.get(buf, b, modelVersion![0], modelVersion![1]),
    predictedLabel: labels.get(buf, b, predictedLabel![0], predictedLabel![1]),
    role,
  };
}
