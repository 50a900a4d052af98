import { mulberry32 } from '../src/policy/rng';
import { accumulate, buildProfile, checkSkew, computeDrift, createAccumulator } from '../src/monitoring';
import type { Features } from '../src/schemas/records';

/**
 * Drift/skew monitoring at production scale: 1M reference rows × 20 features (12 numeric, 8 categorical)
 * and 1M current rows with drift and a country-encoding skew. Prints wall times and peak RSS.
 * The current-window part (accumulate + drift + skew) has a budget of 2 s.
 */

const ROWS = 1_000_000;
const BUDGET_MS = 2000;

/** Seeded (mulberry32, shared with the policies) so every run sees the same numbers. */
const seeded = mulberry32;

function gaussian(rand: () => number): number {
  // Box–Muller; 1 − u keeps the log argument in (0, 1].
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Picks from `values` with Zipf-like weights 1/(i+1), precomputed as a cumulative table. */
function zipf(values: readonly string[]): (rand: () => number) => string {
  const cum: number[] = [];
  let total = 0;
  values.forEach((_, i) => cum.push((total += 1 / (i + 1))));
  return (rand) => {
    const x = rand() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return values[lo];
  };
}

const COUNTRY_CODES = Array.from({ length: 30 }, (_, i) => (i < 3 ? ['US', 'UK', 'DE'][i] : `C${i}`));
const COUNTRY_NAMES: Record<string, string> = { US: 'United States', UK: 'United Kingdom', DE: 'Germany' };
const country = zipf(COUNTRY_CODES);
const device = zipf(['mobile', 'desktop', 'tablet']);
const plan = zipf(['free', 'basic', 'pro', 'team', 'enterprise']);
const browser = zipf(Array.from({ length: 12 }, (_, i) => `browser-${i}`));
const categoryId = zipf(Array.from({ length: 500 }, (_, i) => `cat-${i}`));
const lang = zipf(Array.from({ length: 20 }, (_, i) => `lang-${i}`));
const channelRef = zipf(['web', 'app', 'email', 'partner']);
const channelCur = zipf(['app', 'web', 'partner', 'email']);

interface Dataset {
  features: Features[];
  scores: Record<string, number>[];
}

/** One row per index; every row is built with the same literal so V8 gives all rows one hidden class. */
function dataset(n: number, seed: number, drifted: boolean, sample: () => void): Dataset {
  const rand = seeded(seed);
  const features: Features[] = new Array<Features>(n);
  const scores: Record<string, number>[] = new Array<Record<string, number>>(n);
  const shift = drifted ? 1 : 0;
  for (let i = 0; i < n; i += 1) {
    const c = country(rand);
    features[i] = {
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
      country: drifted && COUNTRY_NAMES[c] !== undefined && rand() < 0.4 ? COUNTRY_NAMES[c] : c,
      device: device(rand),
      plan: plan(rand),
      premium: rand() < (drifted ? 0.35 : 0.25),
      browser: browser(rand),
      category_id: categoryId(rand),
      lang: lang(rand),
      channel: drifted ? channelCur(rand) : channelRef(rand),
    };
    const s = 1 / (1 + Math.exp(-(gaussian(rand) + shift * 0.4)));
    scores[i] = { spam: s, ham: 1 - s };
    if ((i & 0xffff) === 0) sample();
  }
  return { features, scores };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MB`;

function profileReference(sample: () => void): {
  profile: ReturnType<typeof buildProfile>;
  genReferenceMs: number;
  profileMs: number;
} {
  let t = performance.now();
  const reference = dataset(ROWS, 1, false, sample);
  const genReferenceMs = performance.now() - t;
  sample();
  t = performance.now();
  const profile = buildProfile(reference.features, { scoreRows: reference.scores });
  return { profile, genReferenceMs, profileMs: performance.now() - t };
}

/** Runs the benchmark and prints the figures. */
export async function benchMonitoring(): Promise<void> {
  let peakRss = process.memoryUsage.rss();
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };

  // The reference rows live only inside this call, so they can be collected before the current
  // window is generated and the two million rows are never held at once.
  const { profile, genReferenceMs, profileMs } = profileReference(sample);
  sample();

  let t = performance.now();
  const current = dataset(ROWS, 2, true, sample);
  const genCurrentMs = performance.now() - t;
  sample();

  t = performance.now();
  // CPU time as well as wall time: on a busy machine wall time mostly measures the neighbours.
  const cpu = process.cpuUsage();
  const acc = createAccumulator(profile);
  const { features, scores } = current;
  for (let i = 0; i < features.length; i += 1) {
    accumulate(acc, features[i], scores[i]);
    if ((i & 0xffff) === 0) sample();
  }
  const accumulateMs = performance.now() - t;
  t = performance.now();
  const drift = computeDrift(profile, acc);
  const skew = checkSkew(profile, acc);
  const reportMs = performance.now() - t;
  const cpuUsed = process.cpuUsage(cpu);
  const windowCpuMs = (cpuUsed.user + cpuUsed.system) / 1000;
  sample();

  const windowMs = accumulateMs + reportMs;
  console.log(`monitoring bench: ${ROWS.toLocaleString('en')} reference and current rows × 20 features`);
  console.log(`  generate reference rows      ${seconds(genReferenceMs)} (not counted)`);
  console.log(`  buildProfile                 ${seconds(profileMs)}`);
  console.log(`  generate current rows        ${seconds(genCurrentMs)} (not counted)`);
  console.log(`  accumulate                   ${seconds(accumulateMs)}`);
  console.log(`  computeDrift + checkSkew     ${reportMs.toFixed(1)} ms`);
  console.log(
    `  current window total         ${seconds(windowMs)} wall, ${seconds(windowCpuMs)} CPU ` +
      `(budget ${seconds(BUDGET_MS)}: ${windowMs <= BUDGET_MS ? 'OK' : 'OVER'})`,
  );
  console.log(`  profile + window total       ${seconds(profileMs + windowMs)}`);
  console.log(`  peak RSS (sampled)           ${mb(peakRss)}`);
  console.log(
    `  drift level ${drift.level} (${drift.counts.alert} alert, ${drift.counts.warn} warn); ` +
      `skew: ${skew.counts.alert} alert, ${skew.counts.warn} warn, blocks retraining: ${skew.blocksRetraining}`,
  );
  for (const f of skew.findings.filter((x) => x.severity !== 'info').slice(0, 5))
    console.log(`    ${f.detail}`);
}

if (require.main === module) {
  benchMonitoring().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
