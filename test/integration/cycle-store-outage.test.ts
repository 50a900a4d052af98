import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openBlobStore } from '../../src/storage/open-store';
import { status } from '../../src/workflows/messages';
import { outcome, prediction, writeRows } from '../support/fixtures';
import { startPrivateS3, testBucket, testS3Credentials } from '../support/services';
import { withWorker } from '../support/temporal';

/**
 * A storage outage of minutes is routine: with the S3 server stopped mid-cycle, the activities wait it
 * out (backoff, heartbeats) and the cycle completes once the store is back.
 */
test('a cycle on S3 survives the S3 server being stopped for 40 s mid-cycle', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-outage-'));
  const s3 = await startPrivateS3(dir);
  const env = {
    LOOPKEEPER_S3_ENDPOINT: s3.endpoint,
    LOOPKEEPER_S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: testS3Credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: testS3Credentials.secretAccessKey,
  };
  const uri = `s3://${testBucket}/outage-${Date.now()}`;
  const store = openBlobStore(uri, {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    ...testS3Credentials,
  });
  try {
    for (const day of ['2026-06-01', '2026-06-02', '2026-06-03', '2026-06-09']) {
      const rows = Array.from({ length: 60 }, (_, i) => prediction(i, day));
      await writeRows(store, `logs/churn/predictions/date=${day}/part-0000.ndjson`, rows);
      if (day < '2026-06-08')
        await writeRows(
          store,
          `logs/churn/outcomes/date=2026-06-10/part-${day}.ndjson`,
          rows.map((p, i) => outcome(p, i % 4 === 0 ? 'churn' : 'stay')),
        );
    }
    await withWorker(
      store,
      async ({ client, taskQueue }) => {
        const handle = await client.workflow.start('continuousLearningCycle', {
          taskQueue,
          workflowId: `cycle-churn-outage-${Date.now()}`,
          args: [{ modelId: 'churn', window: { from: '2026-06-08', to: '2026-06-15' } }],
        });
        // Stop the store as soon as the cycle is under way, keep it down for 40 s, then bring it back.
        for (;;) {
          const st = await handle.query(status);
          if (st.stage !== 'ingest' || st.stages.ingest.state === 'running') break;
          await new Promise((r) => setTimeout(r, 50));
        }
        s3.stop();
        await new Promise((r) => setTimeout(r, 40_000));
        s3.start();
        const result = await handle.result();
        expect(result.state).toBe('completed');
        expect(result.ingest?.joinedRows).toBe(180);
        expect(result.stages.drift.state).not.toBe('failed');
      },
      { ...env, LOOPKEEPER_STORE_OUTAGE_MINUTES: '15' },
    );
  } finally {
    await store.close();
    s3.stop();
  }
}, 300_000);
