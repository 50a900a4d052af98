import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createIngestWindow } from '../../src/activities/ingest-window';
import type { IngestResult } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import type { BlobStore } from '../../src/storage/blob-store';
import { registerChampion } from '../support/champion';
import { prediction } from '../support/fixtures';
import { rowsOf } from '../support/ingest-fixtures';
import { tempFileStore } from '../support/temporal';

const corpus = path.join(__dirname, '../fixtures/ingest-corpus');
const P = 'logs/churn/predictions/date=2026-06-09/';
const O = 'logs/churn/outcomes/date=2026-06-10/';

/** The committed corpus plus the inputs too big or too binary to commit, generated here. */
async function seed(store: BlobStore): Promise<void> {
  await store.put(`${P}part-bad.ndjson`, fs.readFileSync(path.join(corpus, 'predictions-bad.ndjson')));
  await store.put(`${O}part-bad.ndjson`, fs.readFileSync(path.join(corpus, 'outcomes-bad.ndjson')));
  const line = (r: object): Buffer => Buffer.from(JSON.stringify(r) + '\n');
  // Invalid UTF-8 inside a string value, and a 10 MB line.
  const invalid = Buffer.from(JSON.stringify(prediction(1, '2026-06-09', { requestId: 'bad-utf8' })) + '\n');
  invalid[invalid.indexOf('DE')] = 0xff;
  const huge = prediction(2, '2026-06-09', { requestId: 'huge-line' });
  huge.features.country = 'z'.repeat(10 * 1024 * 1024);
  await store.put(
    `${P}part-generated.ndjson`,
    Buffer.concat([invalid, line(huge), line(prediction(3, '2026-06-09'))]),
  );
  // A truncated gzip: its readable head counts, the rest is reported.
  const gz = gzipSync(
    Buffer.from(
      Array.from({ length: 300 }, (_, i) =>
        JSON.stringify(prediction(i, '2026-06-09', { requestId: `gz-${i}` })),
      ).join('\n'),
    ),
  );
  await store.put(`${P}part-truncated.ndjson.gz`, gz.subarray(0, Math.floor(gz.length / 2)));
  await store.put(`${P}part-empty.ndjson`, '');
  await store.put(`${O}part-empty.ndjson.gz`, gzipSync(Buffer.alloc(0)));
  // A folder where a file is expected.
  await store.put(
    `${P}part-dir.ndjson/part-0000.ndjson`,
    fs.readFileSync(path.join(corpus, 'predictions-bad.ndjson')),
  );
}

/** Reason families, so the tally groups "features.x: …" and "malformed JSON: …" lines. */
function family(reason: string): string {
  if (reason.startsWith('malformed JSON')) return 'malformed JSON';
  if (reason.startsWith('unreadable from here on')) return 'unreadable from here on (damaged file)';
  if (/exceeds the limit/.test(reason)) return reason.replace(/\d+/g, 'N');
  const m = /^([^:]+): (.*)$/.exec(reason);
  return m
    ? `${m[1].replace(/^features\.[^.:]+/, 'features.<name>')}: ${m[2].replace(/"[^"]*"/g, '"…"')}`
    : reason;
}

test('the bad-input corpus: every hostile line is quarantined with a reason or reported, nothing is lost', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const champion = await registerChampion(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri, LOOPKEEPER_MAX_BAD_ROW_RATE: '1' });
  const r: IngestResult = await createIngestWindow({ store, config })({
    modelId: 'churn',
    cycleId: 'corpus',
    window: { from: '2026-06-08', to: '2026-06-15' },
  });
  const quarantined = (await rowsOf(store, r.quarantineKeys)) as Array<{
    source: string;
    line: number;
    reason: string;
  }>;
  const byReason: Record<string, number> = {};
  for (const q of quarantined) byReason[family(q.reason)] = (byReason[family(q.reason)] ?? 0) + 1;
  const accepted = r.lines - r.badRows;
  console.log(
    [
      `bad-input corpus (champion ${champion}): ${r.predictionFiles} prediction + ${r.outcomeFiles} outcome parts`,
      `lines in ${r.lines}, accepted ${accepted}, quarantined ${r.badRows} (joined ${r.joinedRows}, duplicate outcomes ${r.duplicateOutcomes}, orphan outcomes ${r.orphanOutcomes})`,
      ...Object.entries(byReason)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`),
      ...r.warnings.map((w) => `  warning: ${w}`),
    ].join('\n'),
  );

  // Nothing lost: every line read is accepted or has a quarantine entry (the damaged file's tail has one).
  expect(quarantined.length).toBe(r.badRows);
  expect(r.lines).toBe(accepted + r.badRows);
  // Each kind of hostile input is named.
  const reasons = quarantined.map((q) => `${q.source}:${q.line}: ${q.reason}`).join('\n');
  for (const expected of [
    /part-bad\.ndjson:21: malformed JSON/, // NaN as a number
    /part-bad\.ndjson:22: malformed JSON/, // Infinity as a number
    /part-bad\.ndjson:23: features\.tenure_days: must be a finite number/, // 1e309
    /part-bad\.ndjson:24: features\.tenure_days: numeric feature .* got the string "NaN"/,
    /part-bad\.ndjson:25: features\.tenure_days: numeric feature .* got the string "Infinity"/,
    /part-bad\.ndjson:26: features\.tenure_days: numeric feature .* got the string "1e309"/,
    /part-bad\.ndjson:27: features\.country: must be a finite number, a string, a boolean or null/,
    /part-bad\.ndjson:28: scores: /,
    /part-bad\.ndjson:29: requestId: /,
    /part-bad\.ndjson:30: requestId: /,
    /part-bad\.ndjson:31: timestamp: /,
    /part-bad\.ndjson:32: timestamp: /,
    /part-bad\.ndjson:33: modelId: model id must be/,
    /part-bad\.ndjson:34: malformed JSON/,
    /part-bad\.ndjson:35: \(row\): /,
    /part-bad\.ndjson:36: \(row\): /,
    /part-bad\.ndjson:39: timestamp: 2100-01-01T00:00:00.000Z is more than 1 day after its partition date=2026-06-09/,
    /part-bad\.ndjson:40: timestamp: 1900-01-01T00:00:00.000Z is more than 366 days before its partition/,
    /outcomes.*part-bad\.ndjson:28: timestamp: 2100-01-01T00:00:00.000Z is more than 1 day after/,
    /outcomes.*part-bad\.ndjson:29: timestamp: 1900-01-01T00:00:00.000Z is more than 366 days before/,
    /part-generated\.ndjson:1: not valid UTF-8 text/,
    /part-generated\.ndjson:2: line of \d+ bytes exceeds the limit of 1048576/,
    /part-truncated\.ndjson\.gz:\d+: unreadable from here on/,
    /outcomes.*part-bad\.ndjson:23: confidence: /,
    /outcomes.*part-bad\.ndjson:24: confidence: /,
    /outcomes.*part-bad\.ndjson:25: source: /,
    /outcomes.*part-bad\.ndjson:26: source: /,
    /outcomes.*part-bad\.ndjson:27: observedLabel: /,
    /outcomes.*part-bad\.ndjson:30: malformed JSON/,
    /outcomes.*part-bad\.ndjson:31: malformed JSON/,
  ])
    expect(reasons).toMatch(expected);
  // A folder named like a part is reported, not read; empty files are no error.
  expect(r.warnings.join('\n')).toContain(`ignored ${P}part-dir.ndjson/part-0000.ndjson`);
  // Duplicates: the outcome logged twice counts once (and is counted), the prediction logged twice joins once.
  expect(r.duplicateOutcomes).toBe(1);
  const joined = (await rowsOf(store, r.joinedKeys)) as Array<{ requestId: string }>;
  expect(joined.filter((j) => j.requestId === 'c-5')).toHaveLength(1);
  expect(new Set(joined.map((j) => j.requestId)).size).toBe(joined.length);
});
