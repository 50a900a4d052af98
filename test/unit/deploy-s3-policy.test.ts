import * as fs from 'node:fs';
import * as path from 'node:path';
import { layout } from '../../src/storage/layout';

/** The bucket policy example in infra/README.md, held to the keys src/storage/layout.ts builds. */
const readme = fs.readFileSync(path.resolve(__dirname, '../../infra/README.md'), 'utf8');
const block = /```json\n([\s\S]*?)\n```/.exec(readme.slice(readme.indexOf('### S3: least privilege')))?.[1];

interface Statement {
  Sid: string;
  Principal: { AWS: string };
  Action: string | string[];
  Resource: string | string[];
}
const policy = JSON.parse(block ?? 'null') as { Statement: Statement[] };
const BUCKET = 'arn:aws:s3:::loopkeeper-prod/loopkeeper/';
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** True when the role may do `action` on the store key (S3 resource globs: `*` matches anything). */
function allowed(role: string, action: string, key: string): boolean {
  return policy.Statement.some(
    (s) =>
      s.Principal.AWS.endsWith(`:role/${role}`) &&
      list(s.Action).includes(action) &&
      list(s.Resource).some((r) =>
        new RegExp(`^${r.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(
          `${BUCKET}${key}`,
        ),
      ),
  );
}

describe('infra/README.md S3 bucket policy', () => {
  const m = 'churn';
  test('serve reads models and config, writes only its predictions and fleet report, deletes nothing', () => {
    for (const key of [
      layout.aliases(m),
      layout.rollout(m),
      layout.modelVersion(m, 'v1'),
      layout.modelManifest(m, 'v1'),
      layout.policy(m),
    ])
      expect([key, allowed('loopkeeper-serve', 's3:GetObject', key)]).toEqual([key, true]);
    for (const key of [layout.predictionPart(m, '2026-06-01', 'part-1'), layout.fleetReport(m, 'pod-1')])
      expect([key, allowed('loopkeeper-serve', 's3:PutObject', key)]).toEqual([key, true]);
    for (const key of [
      layout.aliases(m),
      layout.rollout(m),
      layout.modelVersion(m, 'v1'),
      layout.policy(m),
      `${layout.outcomeDay(m, '2026-06-01')}part.ndjson`,
      layout.joinedPart(m, 'c1', 'p'),
    ])
      expect([key, allowed('loopkeeper-serve', 's3:PutObject', key)]).toEqual([key, false]);
    expect(allowed('loopkeeper-serve', 's3:GetObject', layout.joinedPart(m, 'c1', 'p'))).toBe(false);
    expect(
      policy.Statement.some(
        (s) => s.Principal.AWS.endsWith('/loopkeeper-serve') && list(s.Action).includes('s3:DeleteObject'),
      ),
    ).toBe(false);
  });

  test('workers read everything, write derived data and the registry, never the raw logs or policies', () => {
    for (const key of [`${layout.predictionDay(m, '2026-06-01')}p.ndjson`, layout.policy(m)])
      expect(allowed('loopkeeper-worker', 's3:GetObject', key)).toBe(true);
    for (const key of [
      layout.joinedPart(m, 'c1', 'p'),
      layout.quarantine(m, 'c1', 'p'),
      layout.dataset(m, 'train', 'v1'),
      layout.labels(m, 'human', 'b1'),
      layout.report(m, 'c1', 'drift.html'),
      layout.modelVersion(m, 'v1'),
      layout.aliases(m),
      layout.aliasHistoryEntry(m, '1-00'),
    ])
      expect([key, allowed('loopkeeper-worker', 's3:PutObject', key)]).toEqual([key, true]);
    for (const key of [`${layout.predictionDay(m, '2026-06-01')}p.ndjson`, layout.policy(m)])
      expect([key, allowed('loopkeeper-worker', 's3:PutObject', key)]).toEqual([key, false]);
    expect(allowed('loopkeeper-worker', 's3:DeleteObject', layout.aliasHistoryEntry(m, '1-00'))).toBe(true);
    expect(allowed('loopkeeper-worker', 's3:DeleteObject', layout.modelVersion(m, 'v1'))).toBe(false);
  });

  test('workers write training matrices, review and alert records, and delete answered inbox entries', () => {
    for (const key of [
      'training/churn/abc/matrix.arrow',
      'training/churn/abc/lightgbm-0123456789ab/model.onnx',
      layout.reviewInboxEntry(m, 'e1'),
      layout.alertFailure(m, 'ev1'),
    ])
      expect([key, allowed('loopkeeper-worker', 's3:PutObject', key)]).toEqual([key, true]);
    expect(allowed('loopkeeper-worker', 's3:DeleteObject', layout.reviewInboxEntry(m, 'e1'))).toBe(true);
  });

  test('the ui reads everything, writes and deletes only review inbox entries', () => {
    for (const key of [layout.aliases(m), layout.uiUsers, layout.report(m, 'c1', 'drift.html')])
      expect([key, allowed('loopkeeper-ui', 's3:GetObject', key)]).toEqual([key, true]);
    for (const action of ['s3:PutObject', 's3:DeleteObject'])
      expect(allowed('loopkeeper-ui', action, layout.reviewInboxEntry(m, 'e1'))).toBe(true);
    for (const key of [layout.uiUsers, layout.aliases(m), layout.policy(m), layout.labels(m, 'human', 'b1')])
      for (const action of ['s3:PutObject', 's3:DeleteObject'])
        expect([key, action, allowed('loopkeeper-ui', action, key)]).toEqual([key, action, false]);
  });

  test('only the operator deletes model versions (retention) and writes retention records', () => {
    expect(allowed('loopkeeper-operator', 's3:DeleteObject', layout.modelVersion(m, 'v1'))).toBe(true);
    expect(allowed('loopkeeper-operator', 's3:PutObject', layout.retentionRecord(m, 'x-v1'))).toBe(true);
  });
});
