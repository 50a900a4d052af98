import { createIngestWindow } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import { outcome, prediction, writeRows } from '../support/fixtures';
import { tempFileStore } from '../support/temporal';

const window = { from: '2026-06-08', to: '2026-06-15' };

test('a directory named like a log part is not a log part: its files are not ingested, and ingest says so', async () => {
  const { store } = tempFileStore();
  const rows = Array.from({ length: 30 }, (_, i) => prediction(i, '2026-06-09'));
  await writeRows(store, 'logs/churn/predictions/date=2026-06-09/part-0000.ndjson', rows);
  // The same rows again, inside a folder whose name looks like a part.
  await writeRows(store, 'logs/churn/predictions/date=2026-06-09/part-dir.ndjson/part-0000.ndjson', rows);
  await writeRows(
    store,
    'logs/churn/outcomes/date=2026-06-10/part-0000.ndjson',
    rows.map((p) => outcome(p, 'stay', 1)),
  );
  await writeRows(
    store,
    'logs/churn/outcomes/date=2026-06-10/nested.ndjson.gz/part-0000.ndjson',
    rows.map((p) => outcome(p, 'churn', 1)),
  );
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const r = await createIngestWindow({ store, config })({ modelId: 'churn', cycleId: 'c1', window });

  expect(r.predictionFiles).toBe(1);
  expect(r.outcomeFiles).toBe(1);
  expect(r.summary.predictions).toBe(30);
  expect(r.lines).toBe(60);
  expect(r.joinedRows).toBe(30);
  expect(r.warnings.join('\n')).toContain('part-dir.ndjson/part-0000.ndjson');
  expect(r.warnings.join('\n')).toContain('nested.ndjson.gz/part-0000.ndjson');
});
