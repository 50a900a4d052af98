import { OutcomeRowSchema, parseLine, PredictionRowSchema, TimestampSchema } from '../../src/schemas';
import { isTimestampBytes } from '../../src/schemas/json-bytes';
import { readOutcomeLine } from '../../src/schemas/outcome-line';
import {
  FeatureKindBytes,
  LineRulesSchema,
  ruleProblem,
  timestampProblem,
} from '../../src/schemas/line-rules';
import { readPredictionLine } from '../../src/schemas/prediction-line';
import { mulberry32 } from '../../src/policy/rng';
import { outcome, prediction } from '../support/fixtures';

/**
 * The byte readers may only say yes to lines JSON.parse + zod accept, and must then return what zod
 * returns. They are fed valid lines, text mutations of them and hand-picked edge cases, each placed in
 * the middle of a run (bytes before it, a CRLF and another line after it) as ingest hands them over.
 */

const rnd = mulberry32(17);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

const INSERTS = [
  ' ',
  '\t',
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '0',
  '9',
  'e',
  'E',
  '-',
  '+',
  '.',
  'n',
  '\u0001',
  'é',
];
const VALUES = [
  '""',
  '"x"',
  '0',
  '-0',
  '1',
  '1.0',
  '1.5',
  '0.999',
  '1e400',
  '1E-7',
  '-1',
  '01',
  'true',
  'false',
  'null',
  '[]',
  '{}',
  '{"a":1}',
  '"\\u0041"',
  '"a\\"b"',
  '"2026-02-30T00:00:00Z"',
  '"2026-06-01T10:00:00+01:00"',
  '"2026-06-01T10:00:00.1234567891Z"',
  '"0999-06-01T10:00:00Z"',
  '"champion"',
  '"shadow"',
  '"observed"',
  '"oracle"',
];

/** A random text mutation of a JSON line: most break nothing structural, some break everything. */
function mutate(line: string): string {
  const at = Math.floor(rnd() * (line.length + 1));
  switch (Math.floor(rnd() * 6)) {
    case 0:
      return line.slice(0, at) + pick(INSERTS) + line.slice(at);
    case 1:
      return line.slice(0, at) + line.slice(at + 1);
    case 2: {
      // Replace one value (the text between a colon and the next comma or brace).
      const colons = [...line.matchAll(/:/g)].map((m) => m.index);
      if (colons.length === 0) return line;
      const c = pick(colons);
      const rest = line.slice(c + 1);
      const end = rest.search(/[,}]/);
      if (end < 0 || rest.startsWith('{')) return line;
      return `${line.slice(0, c + 1)}${pick(VALUES)}${rest.slice(end)}`;
    }
    case 3: {
      // Repeat or add a key.
      const key = pick([
        '"requestId":"dup"',
        '"modelVersion":"v9"',
        '"extra":1',
        '"outcomes":[]',
        '"__proto__":{}',
      ]);
      return `{${key},${line.slice(1)}`;
    }
    case 4:
      return line.replace(/":/, pick(['" :', '":  ', '"\t:']));
    default:
      return line + pick(['', ' ', 'x', '}', '\t']);
  }
}

/** Puts a line inside a run of bytes: [start, end) of the line, with more bytes on both sides. */
function inRun(line: string): { buf: Buffer; start: number; end: number } {
  const before = Buffer.from(pick(['', '{"requestId":"prev"}\n', 'garbage\n']));
  const body = Buffer.from(line);
  const after = Buffer.from(pick(['', '\r\n{"requestId":"next"}', '\n"', '\n}']));
  return {
    buf: Buffer.concat([before, body, after]),
    start: before.length,
    end: before.length + body.length,
  };
}

function candidates(valid: string[], edge: string[], rounds: number): string[] {
  const out = [...valid, ...edge];
  for (let i = 0; i < rounds; i++) {
    let line = pick(valid);
    const n = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < n; k++) line = mutate(line);
    out.push(line);
  }
  return out;
}

test('readPredictionLine says yes only to rows zod accepts, with the same facts', () => {
  const valid = Array.from({ length: 40 }, (_, i) =>
    JSON.stringify(
      prediction(i, '2026-06-0' + (1 + (i % 9)), {
        role: i % 4 === 0 ? 'canary' : i % 4 === 1 ? 'shadow' : undefined,
        latencyMs: i % 3 === 0 ? i / 7 : undefined,
        ...(i % 5 === 0 ? { slices: undefined } : {}),
        ...(i % 7 === 0 ? { entityId: 'ünïcode' } : {}),
      }),
    ),
  );
  const base = valid[0];
  const edge = [
    base.replace('"tenure_days":10', '"tenure_days":1e400'),
    base.replace('"tenure_days":10', '"tenure_days":1e300'),
    base.replace('"tenure_days":10', '"tenure_days":-2.5E-3'),
    base.replace(/"churn":[^,]+/, '"churn":1.0000'),
    base.replace(/"churn":[^,]+/, '"churn":1.0001'),
    base.replace(/"churn":[^,]+/, '"churn":-0'),
    base.replace('"requestId":"', '"requestId":"\\u00e9'),
    base.replace('"v1"', '""'),
    base.replace('"features":{', '"features":{"":1,'),
    base.replace('"features":{', '"features":{"__proto__":1,'),
    base.replace('"features":{', '"features":{"nested":{"a":1},'),
    base.replace('"modelId":"churn"', '"modelId":"Churn"'),
    base.replace('"modelId":"churn"', '"modelId":"-churn"'),
    base.replace(/"timestamp":"[^"]+"/, '"timestamp":"2026-06-01T10:00:00.123-05:30"'),
    base.replace(/"timestamp":"[^"]+"/, '"timestamp":"2024-02-29T23:59:59Z"'),
    base.replace(/"timestamp":"[^"]+"/, '"timestamp":"2025-02-29T23:59:59Z"'),
    base.replace(/"timestamp":"[^"]+"/, '"timestamp":"2026-06-01 10:00:00Z"'),
    base.replace(/"timestamp":"[^"]+"/, '"timestamp":"2026-06-01T10:00:00+1:00"'),
    base.replace(/"timestamp":"[^"]+"/, '"timestamp":"2026-06-01T10:00:00.Z"'),
    base.replace(/"timestamp":"[^"]+"/, '"timestamp":"19x6-06-01T10:00:00Z"'),
    base.replace('{', '{ \t\r'),
    base.replace('"slices":{', '"slices":{"n":1,'),
    base.replace('"scores":{', '"scores":{"x":"0.5",'),
    `\ufeff${base}`,
    base.slice(0, -1),
    '{}',
    '',
  ];
  let yes = 0;
  for (const line of candidates(valid, edge, 6000)) {
    const { buf, start, end } = inRun(line);
    const facts = readPredictionLine(buf, start, end);
    if (!facts) continue;
    yes++;
    const slow = parseLine(line, PredictionRowSchema);
    expect([line, slow.ok]).toEqual([line, true]);
    if (!slow.ok) continue;
    const { requestId, modelVersion, predictedLabel, role } = slow.row;
    expect([line, facts]).toEqual([line, { requestId, modelVersion, predictedLabel, role }]);
  }
  // Plain lines take the byte path; mutated ones often still do (spacing, reordering, odd values).
  for (const line of valid)
    expect(readPredictionLine(Buffer.from(line), 0, Buffer.byteLength(line))).toBeDefined();
  expect(yes).toBeGreaterThan(1000);
});

test('with feature kinds, readPredictionLine says yes only to rows zod and the feature rules accept', () => {
  const rules = LineRulesSchema.parse({
    featureKinds: {
      tenure_days: 'numeric',
      country: 'categorical',
      discount_used: 'boolean',
      note: 'numeric',
    },
  });
  const kinds = new FeatureKindBytes(rules.featureKinds);
  // Lines of days 06-01..06-09; the partition admits 06-02..06-06 only.
  const days = { day: '2026-06-05', from: '2026-06-02', to: '2026-06-06' };
  const dayBytes = { from: Buffer.from(days.from), to: Buffer.from(days.to) };
  const valid = Array.from({ length: 40 }, (_, i) =>
    JSON.stringify(prediction(i, '2026-06-0' + (1 + (i % 9)))),
  );
  const base = valid[0];
  const edge = [
    base.replace('"tenure_days":10', '"tenure_days":"NaN"'),
    base.replace('"tenure_days":10', '"tenure_days":true'),
    base.replace('"tenure_days":10', '"tenure_days":null'),
    base.replace('"country":"US"', '"country":7'),
    base.replace('"country":"US"', '"country":false'),
    base.replace('"discount_used":true', '"discount_used":"yes"'),
    base.replace('"discount_used":true', '"discount_used":1'),
    base.replace('"note":null', '"note":"x"'),
    base.replace('"features":{', '"features":{"other":"anything",'),
  ];
  let yes = 0;
  let no = 0;
  for (const line of candidates(valid, edge, 4000)) {
    const { buf, start, end } = inRun(line);
    const facts = readPredictionLine(buf, start, end, kinds, dayBytes);
    const slow = parseLine(line, PredictionRowSchema);
    const accepted =
      slow.ok && ruleProblem(slow.row, rules) === undefined && !timestampProblem(slow.row.timestamp, days);
    if (!facts) {
      no++;
      continue;
    }
    yes++;
    expect([line, accepted]).toEqual([line, true]);
  }
  for (const line of edge.slice(0, 2).concat(edge.slice(3, 7), edge.slice(7, 8)))
    expect([
      line,
      readPredictionLine(Buffer.from(line), 0, Buffer.byteLength(line), kinds, dayBytes),
    ]).toEqual([line, undefined]);
  expect(yes).toBeGreaterThan(200);
  expect(no).toBeGreaterThan(0);
});

test('readOutcomeLine says yes only to rows zod accepts, and returns what zod returns', () => {
  const valid = Array.from({ length: 30 }, (_, i) => {
    const o = outcome(
      prediction(i, '2026-06-0' + (1 + (i % 9))),
      i % 2 ? 'churn' : 'stay',
      7,
      pick(['observed', 'annotator', 'heuristic', 'user-report'] as const),
    );
    return JSON.stringify(
      i % 6 === 0 ? { ...o, confidence: undefined } : { ...o, confidence: Math.round(rnd() * 1000) / 1000 },
    );
  });
  const base = valid[1];
  const edge = [
    base.replace(/"confidence":[^,}]+/, '"confidence":1.0'),
    base.replace(/"confidence":[^,}]+/, '"confidence":1.5'),
    base.replace(/"confidence":[^,}]+/, '"confidence":0.25e0'),
    base.replace('"observedLabel":"', '"observedLabel":"\\t'),
    base.replace(/"source":"[^"]+"/, '"source":"Observed"'),
    base.replace(/"requestId":"[^"]+"/, '"requestId":""'),
    `${base} `,
  ];
  let yes = 0;
  for (const line of candidates(valid, edge, 4000)) {
    const { buf, start, end } = inRun(line);
    const fast = readOutcomeLine(buf, start, end);
    if (!fast) continue;
    yes++;
    const slow = parseLine(line, OutcomeRowSchema);
    expect([line, slow]).toEqual([line, { ok: true, row: fast }]);
  }
  for (const line of valid)
    expect(readOutcomeLine(Buffer.from(line), 0, Buffer.byteLength(line))).toBeDefined();
  expect(yes).toBeGreaterThan(500);
});

test('isTimestampBytes agrees with zod on the timestamps it accepts', () => {
  const ts = (s: string): boolean => isTimestampBytes(Buffer.from(s), 0, Buffer.byteLength(s));
  for (const s of [
    '2026-06-01T10:00:00Z',
    '2026-06-01T23:59:59.123456789+14:00',
    '2024-02-29T00:00:00-00:00',
  ])
    expect([s, ts(s), TimestampSchema.safeParse(s).success]).toEqual([s, true, true]);
  for (const s of [
    '2026-06-01T24:00:00Z',
    '2026-06-31T10:00:00Z',
    '2026-00-01T10:00:00Z',
    '2026-06-01T10:60:00Z',
    '2026-06-01T10:00:00.1234567890Z',
    '2026-06-01T10:00:00z',
    '2026-06-01T10:00:00',
    '2026-06-01T10:00:00+24:00',
    '0999-06-01T10:00:00Z',
    '1x99-06-01T10:00:00Z',
  ])
    expect([s, ts(s)]).toEqual([s, false]);
});
