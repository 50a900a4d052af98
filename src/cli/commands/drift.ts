import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { createComputeDrift } from '../../activities/compute-drift';
import type { DriftReportDoc } from '../../activities/compute-drift';
import { DRIFT_LEVEL_RANK } from '../../monitoring/drift';
import type { DriftLevel, FeatureDrift } from '../../monitoring/drift';
import { DaySchema, WindowSchema } from '../../schemas';
import { dayOf, windowEndingAt } from '../../schemas/window';
import type { Window } from '../../schemas/window';
import { readJson } from '../../storage/ndjson';
import { z } from 'zod';
import { didYouMean } from '../../config/did-you-mean';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { EXIT } from '../exit-codes';
import { knownModels, modelExists } from '../known-models';
import { printable as p } from '../printable';
import { parseModelId, quoteInput } from '../user-input';

/** Exit code when the drift level reaches `--fail-on`. */
export const DRIFT_FAIL_EXIT_CODE = 3;

interface DriftOptions {
  model: string;
  window?: string;
  asOf?: string;
  days?: string;
  json?: boolean;
  html?: string;
  failOn?: string;
}

function parseWindow(opts: DriftOptions): Window {
  if (opts.window) {
    const [from, to] = opts.window.split('..');
    const parsed = WindowSchema.safeParse({ from, to });
    if (!parsed.success)
      throw new CliError(
        `--window ${quoteInput(opts.window)}: expected FROM..TO as YYYY-MM-DD..YYYY-MM-DD with FROM before TO`,
      );
    return parsed.data;
  }
  if (opts.asOf && !DaySchema.safeParse(opts.asOf).success)
    throw new CliError(`--as-of ${quoteInput(opts.asOf)}: expected YYYY-MM-DD`);
  const days = opts.days === undefined ? 1 : Number(opts.days);
  if (!Number.isInteger(days) || days < 1)
    throw new CliError(`--days ${quoteInput(String(opts.days))}: expected a whole number ≥ 1`);
  return windowEndingAt(opts.asOf ?? dayOf(Date.now()), days);
}

const fmt = (x: number | null): string => (x === null ? '–' : x.toFixed(4));

function featureLine(f: FeatureDrift): string {
  // Feature names come from the logged data: escaped and cut, like every value shown here.
  return `  ${p(f.feature, 60).padEnd(24)} ${f.level.padEnd(17)} PSI ${fmt(f.psi).padStart(7)}  KL ${fmt(f.kl).padStart(7)}  JS ${fmt(f.js).padStart(6)}  (${f.rows} rows)`;
}

/** Human output: skew findings first, then features worst first, then scores. */
export function formatDriftReport(doc: DriftReportDoc, htmlKey: string): string {
  const { drift, skew } = doc;
  const lines = [
    `drift ${doc.modelId}  window ${doc.window.from}..${doc.window.to} (end exclusive)  reference ${doc.reference.source}`,
    `level: ${drift.level}  rows: ${drift.rows} (reference ${drift.referenceRows})${skew.blocksRetraining ? '  SKEW ALERT: blocks retraining' : ''}`,
  ];
  if (skew.findings.length > 0) {
    lines.push('skew:');
    for (const f of skew.findings)
      lines.push(`  ${f.severity.padEnd(5)} ${p(f.feature, 60)} (${f.check}): ${p(f.detail, 300)}`);
  } else if (skew.insufficientData) lines.push('skew: insufficient data');
  else lines.push('skew: no findings');
  lines.push('features (worst first):');
  for (const f of drift.features) lines.push(featureLine(f));
  if (drift.scores.length > 0) {
    lines.push('prediction scores:');
    for (const f of drift.scores) lines.push(featureLine(f));
  }
  if (doc.badRows > 0) lines.push(`${doc.badRows} invalid log line(s) left out`);
  lines.push(`report: ${htmlKey}`);
  return lines.join('\n');
}

/** `loopkeeper drift`: drift and skew of a window, straight against the store (no Temporal needed). */
export function registerDrift(program: Command, ctx: () => CliContext): void {
  program
    .command('drift')
    .description('compare a window of prediction logs with the reference profile (drift and skew)')
    .requiredOption('--model <id>', 'model id')
    .option('--window <from..to>', 'explicit window of days, e.g. 2026-06-01..2026-06-08 (end exclusive)')
    .option('--as-of <day>', 'the window is the --days days before this day (default: today)')
    .option('--days <n>', 'window length in days with --as-of (default 1)')
    .option('--json', 'print the full reports as JSON')
    .option('--html <file>', 'also write the self-contained HTML report to this file')
    .option(
      '--fail-on <level>',
      `exit ${DRIFT_FAIL_EXIT_CODE} when the level reaches warn or alert (a skew alert counts as alert)`,
    )
    .action(async (opts: DriftOptions) => {
      const c = ctx();
      const modelId = parseModelId(opts.model);
      if (opts.failOn !== undefined && opts.failOn !== 'warn' && opts.failOn !== 'alert')
        throw new CliError(`--fail-on ${quoteInput(opts.failOn)}: expected warn or alert`);
      const window = parseWindow(opts);
      // Checked before any work: a report that cannot be written should not cost a full drift run.
      if (opts.html) {
        const dir = path.dirname(path.resolve(opts.html));
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
          throw new CliError(`--html ${opts.html}: folder ${dir} does not exist`, EXIT.cantCreate);
      }
      if (!(await modelExists(c.store, modelId))) {
        const known = await knownModels(c.store);
        throw new CliError(
          `unknown model "${modelId}" in store ${c.store.uri}${didYouMean(modelId, known)}; known models: ${known.map((k) => p(k, 60)).join(', ') || 'none'}`,
          EXIT.noInput,
        );
      }
      const computeDrift = createComputeDrift({ store: c.store, config: c.config });
      const runId = `drift-${window.from}_${window.to}`;
      const summary = await computeDrift({ modelId, runId, window });
      const doc = await readJson(c.store, summary.jsonKey, z.custom<DriftReportDoc>());
      if (opts.html) {
        const html = await c.store.get(summary.htmlKey);
        try {
          fs.writeFileSync(opts.html, html);
        } catch (err) {
          throw new CliError(`--html ${opts.html}: ${(err as Error).message}`, EXIT.cantCreate);
        }
      }
      output(opts.json, { summary, ...doc }, () => formatDriftReport(doc, summary.htmlKey));
      if (opts.html && !opts.json) console.log(`wrote ${opts.html}`);
      if (opts.failOn) {
        const level: DriftLevel = summary.skewAlert ? 'alert' : summary.level;
        if (DRIFT_LEVEL_RANK[level] >= DRIFT_LEVEL_RANK[opts.failOn as DriftLevel])
          throw new CliError(`drift level ${level} reaches --fail-on ${opts.failOn}`, DRIFT_FAIL_EXIT_CODE);
      }
    });
}
