import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLoadCycleContext } from '../../src/activities/load-cycle-context';
import { createPromoteCandidate } from '../../src/activities/promote-candidate';
import { loadConfig } from '../../src/config';
import * as options from '../../src/workflows/activity-options';
import { tempFileStore } from '../support/temporal';

const seconds = (d: unknown): number => {
  const m = /^(\d+) (second|minute|hour)s?$/.exec(String(d));
  if (!m) throw new Error(`unexpected duration ${String(d)}`);
  return Number(m[1]) * { second: 1, minute: 60, hour: 3600 }[m[2] as 'second' | 'minute' | 'hour'];
};

test('every activity option block has a heartbeat timeout, no small attempt limit, and a schedule-to-close bound', () => {
  const blocks = Object.entries(options.activityOptionBlocks);
  expect(blocks.length).toBeGreaterThanOrEqual(6);
  for (const [name, o] of blocks) {
    expect([name, o.heartbeatTimeout !== undefined]).toEqual([name, true]);
    // A crash must be noticed well before the attempt's own timeout runs out.
    expect([name, seconds(o.heartbeatTimeout) * 5 <= seconds(o.startToCloseTimeout)]).toEqual([name, true]);
    // Crashes are retried; only bad-input error types stop the retries.
    expect([name, o.retry?.maximumAttempts ?? Infinity]).toEqual([name, Infinity]);
    expect([name, seconds(o.scheduleToCloseTimeout) >= seconds(o.startToCloseTimeout)]).toEqual([name, true]);
    expect(o.retry?.nonRetryableErrorTypes).toEqual(
      expect.arrayContaining(['ZodError', 'TrainingDataError']),
    );
  }
});

test('the cycle, retrain and drift workflows proxy activities only through the named option blocks', () => {
  for (const file of ['cycle.ts', 'retrain.ts', 'drift-monitor.ts']) {
    const src = fs.readFileSync(path.join(__dirname, '../../src/workflows', file), 'utf8');
    const calls = [...src.matchAll(/proxyActivities<Activities>\(\s*([^)]*)\)/g)].map((m) => m[1].trim());
    expect(calls.length).toBeGreaterThan(0);
    for (const arg of calls)
      expect([file, Object.keys(options.activityOptionBlocks)]).toEqual([
        file,
        expect.arrayContaining([arg]),
      ]);
  }
});

test('short activities heartbeat too (loadCycleContext, promoteCandidate), so a crash in them is noticed', async () => {
  const { store } = tempFileStore();
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  await env.run(createLoadCycleContext({ store, config }), { modelId: 'churn', cycleId: 'c1' });
  expect(beats.length).toBeGreaterThan(0);
  beats.length = 0;
  // Promoting a version that does not exist fails, but only after the activity has reported itself alive.
  await expect(
    env.run(createPromoteCandidate({ store, config }), {
      modelId: 'churn',
      version: 'v-nope',
      cycleId: 'c1',
      to: 'challenger' as const,
    }),
  ).rejects.toThrow();
  expect(beats.length).toBeGreaterThan(0);
});
