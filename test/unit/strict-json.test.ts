import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../src/config';
import { closestMatch, didYouMean, editDistance } from '../../src/config/did-you-mean';
import { findUnknownKeys, parseStrict } from '../../src/config/strict-json';
import { policyOrigins, validatePolicyFile } from '../../src/policy/model-policy';

describe('editDistance', () => {
  test.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['promotion', 'promotion', 0],
    ['promotoin', 'promotion', 1], // two neighbours swapped: one edit
    ['promtion', 'promotion', 1],
    ['kitten', 'sitting', 3],
    ['gate', 'rate', 1],
  ])('%p → %p = %p', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closestMatch / didYouMean', () => {
  const keys = ['routing', 'caps', 'testSet', 'gate', 'challenge', 'retrain', 'promotion', 'rollout', 'seed'];
  test('a typo finds its key', () => {
    expect(closestMatch('promotoin', keys)).toBe('promotion');
    expect(closestMatch('retrian', keys)).toBe('retrain');
    expect(closestMatch('testset', keys)).toBe('testSet');
    expect(didYouMean('rolout', keys)).toBe(' (did you mean "rollout"?)');
  });
  test('nothing close, or a tie, gives no guess', () => {
    expect(closestMatch('banana', keys)).toBeUndefined();
    expect(closestMatch('xy', ['xa', 'xb'])).toBeUndefined();
    expect(didYouMean('zzzzzz', keys)).toBe('');
  });
});

describe('strict parsing of JSON people write', () => {
  const Schema = z.object({
    name: z.string(),
    limits: z.object({ max: z.number().default(3) }).prefault({}),
    rules: z.array(z.object({ metric: z.string() })).default([]),
    byClass: z.record(z.string(), z.object({ weight: z.number() })).optional(),
    open: z.object({}).catchall(z.unknown()).optional(),
  });

  test('unknown keys at any depth are named with their path and a suggestion', () => {
    const value = {
      name: 'x',
      nmae: 'y',
      limits: { maxx: 4 },
      rules: [{ metric: 'f1' }, { metric: 'f1', metirc: 'auc' }],
      byClass: { a: { weight: 1, wieght: 2 } },
      open: { anything: 1 },
    };
    expect(findUnknownKeys(Schema, value)).toEqual([
      { path: 'nmae', key: 'nmae', suggestion: 'name' },
      { path: 'limits.maxx', key: 'maxx', suggestion: 'max' },
      { path: 'rules[1].metirc', key: 'metirc', suggestion: 'metric' },
      { path: 'byClass.a.wieght', key: 'wieght', suggestion: 'weight' },
    ]);
    const r = parseStrict(Schema, value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]).toBe('nmae: unknown key "nmae" (did you mean "name"?)');
  });

  test('valid input parses, with defaults; type errors are listed with their path', () => {
    expect(parseStrict(Schema, { name: 'x' })).toEqual({
      ok: true,
      data: { name: 'x', limits: { max: 3 }, rules: [] },
    });
    const bad = parseStrict(Schema, { name: 1, limits: { max: 'many' } });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.problems).toEqual([
        expect.stringMatching(/^name: /),
        expect.stringMatching(/^limits\.max: /),
      ]);
  });
});

describe('model policy files', () => {
  test('a misspelt key is refused, naming it and the key meant (it used to mean "promote")', () => {
    const r = validatePolicyFile({ promotoin: 'challenger-only' });
    expect(r).toEqual({
      ok: false,
      problems: ['promotoin: unknown key "promotoin" (did you mean "promotion"?)'],
    });
  });

  test('nested typos and the drift/skew sections', () => {
    const r = validatePolicyFile({ retrain: { maxFeedbackShre: 0.2 }, drift: {}, skew: {} });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems).toEqual([
        'retrain.maxFeedbackShre: unknown key "maxFeedbackShre" (did you mean "maxFeedbackShare"?)',
      ]);
    expect(validatePolicyFile({ promotion: 'challenger-only', drift: {}, skew: {} }).ok).toBe(true);
  });

  test('policyOrigins says which values the file set', () => {
    const raw = { promotion: 'challenger-only', retrain: { l2: 0.01 } };
    const r = validatePolicyFile(raw);
    if (!r.ok) throw new Error(r.problems.join('; '));
    const values = policyOrigins(r.data, raw);
    expect(values.find((v) => v.path === 'promotion')).toEqual({
      path: 'promotion',
      value: 'challenger-only',
      origin: 'file',
    });
    expect(values.find((v) => v.path === 'retrain.l2')).toMatchObject({ origin: 'file', value: 0.01 });
    expect(values.find((v) => v.path === 'retrain.testFraction')).toMatchObject({ origin: 'default' });
  });
});

test('an unknown key in the LOOPKEEPER_CONFIG file is a config error naming it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-config-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ temporal: { adress: '127.0.0.1:7233' }, ingest: { windowDay: 3 } }),
  );
  let err: unknown;
  try {
    loadConfig({ LOOPKEEPER_CONFIG: file });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).problems).toEqual([
    `LOOPKEEPER_CONFIG=${file}: temporal.adress: unknown key "adress" (did you mean "address"?)`,
    `LOOPKEEPER_CONFIG=${file}: ingest.windowDay: unknown key "windowDay" (did you mean "windowDays"?)`,
  ]);
});
