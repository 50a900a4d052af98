import {
  bytesAre,
  bytesOf,
  isTimestampBytes,
  lexed,
  lexedUnit,
  lexNumber,
  lexString,
  skipSpace,
  Utf8Interner,
} from './json-bytes';
import type { LabelSource, OutcomeRow } from './records';

const name = (s: string): Uint8Array => Buffer.from(s, 'latin1');

const K = { requestId: 1, observedLabel: 2, source: 4, confidence: 8, timestamp: 16 } as const;
const REQUIRED = K.requestId | K.observedLabel | K.source | K.timestamp;
const KEYS = Object.entries(K).map(([k, bit]) => ({ bytes: name(k), bit }));
const SOURCES: LabelSource[] = ['observed', 'user-report', 'annotator', 'heuristic'];
const SOURCE_BYTES = SOURCES.map(name);
const labels = new Utf8Interner();

const at = (b: Uint8Array, i: number, end: number): number => (i < end ? b[i] : -1);

/**
 * Validates the outcome log line held in bytes [start, end) and returns the row, as
 * OutcomeRowSchema would (confidence defaults to 1); undefined when it is not certainly valid, and then
 * JSON.parse + zod decide and name the reason. Like readPredictionLine it says yes only to the plainest
 * spelling: the schema's own keys, each once, no escapes in the strings it returns.
 */
export function readOutcomeLine(buf: Buffer, start: number, end: number): OutcomeRow | undefined {
  const b = bytesOf(buf);
  if (start >= end || b[start] !== 123) return undefined;
  let i = b[start + 1] > 32 ? start + 1 : skipSpace(b, start + 1, end);
  let seen = 0;
  let requestId = '';
  let observedLabel = '';
  let source: LabelSource | undefined;
  let confidence = 1;
  let timestamp = '';
  for (;;) {
    if (at(b, i, end) !== 34) return undefined;
    const ks = i + 1;
    i = lexString(b, i, end);
    if (i < 0 || lexed.escaped) return undefined;
    let bit = 0;
    for (const k of KEYS) if (bytesAre(b, ks, i - 1, k.bytes)) bit = k.bit;
    if (bit === 0 || seen & bit) return undefined;
    seen |= bit;
    i = b[i] > 32 ? i : skipSpace(b, i, end);
    if (at(b, i, end) !== 58) return undefined;
    i = b[i + 1] > 32 ? i + 1 : skipSpace(b, i + 1, end);
    const vs = i;
    if (bit === K.confidence) {
      i = lexNumber(b, i, end);
      if (i < 0 || !lexedUnit()) return undefined;
      confidence = Number(buf.toString('latin1', vs, i));
    } else {
      if (at(b, i, end) !== 34) return undefined;
      i = lexString(b, i, end);
      if (i < 0 || lexed.escaped || i - 2 === vs) return undefined;
      if (bit === K.source) {
        const s = SOURCE_BYTES.findIndex((x) => bytesAre(b, vs + 1, i - 1, x));
        if (s < 0) return undefined;
        source = SOURCES[s];
      } else if (bit === K.timestamp) {
        if (!isTimestampBytes(b, vs + 1, i - 1)) return undefined;
        timestamp = buf.toString('latin1', vs + 1, i - 1);
      } else if (bit === K.requestId) requestId = buf.toString('utf8', vs + 1, i - 1);
      else observedLabel = labels.get(buf, b, vs + 1, i - 1);
    }
    i = b[i] > 32 ? i : skipSpace(b, i, end);
    const next = at(b, i, end);
    if (next === 44) i = b[i + 1] > 32 ? i + 1 : skipSpace(b, i + 1, end);
    else if (next === 125) break;
    else return undefined;
  }
  if (skipSpace(b, i + 1, end) !== end || (seen & REQUIRED) !== REQUIRED || !source) return undefined;
  return { requestId, observedLabel, source, confidence, timestamp };
}
