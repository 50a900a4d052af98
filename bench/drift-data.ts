import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../src/policy/rng';
import { layout } from '../src/storage/layout';

/**
 * A store for the `loopkeeper drift` bench: a bootstrap history of `rows` labelled rows (the
 * reference) and one day of `rows` prediction-log lines with drift and a country-encoding skew, both
 * 20 features (12 numeric, 8 categorical), written straight as files (the generator is not measured).
 */

const COUNTRIES = Array.from({ length: 30 }, (_, i) => (i < 3 ? ['US', 'UK', 'DE'][i] : `C${i}`));
const NAMES: Record<string, string> = { US: 'United States', UK: 'United Kingdom', DE: 'Germany' };

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function pick(values: readonly string[], rand: () => number): string {
  // Roughly Zipf: squaring a uniform favours the first values.
  const u = rand();
  return values[Math.floor(u * u * values.length)];
}

const DEVICES = ['mobile', 'desktop', 'tablet'];
const PLANS = ['free', 'basic', 'pro', 'team', 'enterprise'];
const BROWSERS = Array.from({ length: 12 }, (_, i) => `browser-${i}`);
const CATEGORIES = Array.from({ length: 500 }, (_, i) => `cat-${i}`);
const LANGS = Array.from({ length: 20 }, (_, i) => `lang-${i}`);
const CHANNELS = ['web', 'app', 'email', 'partner'];

function features(rand: () => number, drifted: boolean): Record<string, unknown> {
  const shift = drifted ? 1 : 0;
  const c = pick(COUNTRIES, rand);
  return {
    amount: Math.exp(3 + gaussian(rand) * (drifted ? 1.2 : 1)),
    age: Math.round(40 + gaussian(rand) * 12),
    query_length: Math.max(1, Math.round(20 + gaussian(rand) * 8 + shift * 3)),
    score_a: gaussian(rand) + shift * 0.3,
    score_b: gaussian(rand) * 2,
    latency_ms: rand() * (drifted ? 1100 : 1000) - (drifted ? 50 : 0),
    clicks: Math.floor(-Math.log(1 - rand()) * 2),
    sessions: Math.floor(rand() * 20),
    balance: rand() < (drifted ? 0.3 : 0.05) ? null : gaussian(rand) * 1000 + 5000,
    ratio: rand(),
    tenure_days: Math.floor(rand() * 3650),
    items: Math.floor(rand() * 8 + shift * rand() * 2),
    country: drifted && NAMES[c] !== undefined && rand() < 0.4 ? NAMES[c] : c,
    device: pick(DEVICES, rand),
    plan: pick(PLANS, rand),
    premium: rand() < (drifted ? 0.35 : 0.25),
    browser: pick(BROWSERS, rand),
    category_id: pick(CATEGORIES, rand),
    lang: pick(LANGS, rand),
    channel: pick(CHANNELS, rand),
  };
}

/** Writes the store under `root` (which must exist); the window is 2026-06-14..2026-06-15. */
export function writeDriftStore(root: string, rows: number, parts = 4): void {
  const file = (key: string): string => {
    const p = path.join(root, key);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    return p;
  };
  fs.writeFileSync(
    file('installation.json'),
    JSON.stringify({ id: 'benchdrift01', createdAt: '2026-06-01T00:00:00.000Z', storeUri: `file://${root}` }),
  );
  const ref = mulberry32(1);
  const dataKey = layout.dataset('churn', 'history', '1');
  const out = fs.openSync(file(dataKey), 'w');
  let buf: string[] = [];
  const flush = (fd: number): void => {
    fs.writeSync(fd, buf.join(''));
    buf = [];
  };
  for (let i = 0; i < rows; i++) {
    const label = ref() < 0.3 ? 'churn' : 'stay';
    buf.push(
      JSON.stringify({
        requestId: `h-${i}`,
        timestamp: '2026-05-20T12:00:00.000Z',
        features: features(ref, false),
        label,
        labelSource: 'historical',
      }) + '\n',
    );
    if (buf.length >= 10_000) flush(out);
  }
  flush(out);
  fs.closeSync(out);
  fs.writeFileSync(
    file(layout.datasetManifest('churn', 'history', '1')),
    JSON.stringify({
      kind: 'train',
      modelId: 'churn',
      version: '1',
      dataKey,
      rows,
      classCounts: {},
      createdAt: '2026-06-01T00:00:00.000Z',
      lineage: {},
    }),
  );
  const cur = mulberry32(2);
  const perPart = Math.ceil(rows / parts);
  for (let p = 0; p < parts; p++) {
    const fd = fs.openSync(file(layout.predictionPart('churn', '2026-06-14', `part-${p}`)), 'w');
    for (let i = p * perPart; i < Math.min(rows, (p + 1) * perPart); i++) {
      const s = 1 / (1 + Math.exp(-(gaussian(cur) + 0.4)));
      buf.push(
        JSON.stringify({
          requestId: `r-${i}`,
          timestamp: '2026-06-14T12:00:00.000Z',
          modelId: 'churn',
          modelVersion: 'v-bench',
          features: features(cur, true),
          predictedLabel: s > 0.5 ? 'churn' : 'stay',
          scores: { churn: s, stay: 1 - s },
          role: 'champion',
          latencyMs: 3,
        }) + '\n',
      );
      if (buf.length >= 10_000) flush(fd);
    }
    flush(fd);
    fs.closeSync(fd);
  }
}
