import type * as echarts from 'echarts';
import { z } from 'zod';
import type { DriftLevel, FeatureDrift } from './drift';
import { DriftReportSchema } from './drift';
import { formatCount, formatNumber, formatPercent } from './format';
import type { SkewFinding } from './skew';
import { SkewReportSchema } from './skew';
import { renderSvg } from './svg-chart';

/** What {@link renderDriftHtml} renders. */
export const DriftHtmlInputSchema = z.object({
  modelId: z.string(),
  /** The production window compared with the reference, as given (usually ISO timestamps). */
  window: z.object({ from: z.string(), to: z.string() }),
  drift: DriftReportSchema,
  skew: SkewReportSchema,
});
export type DriftHtmlInput = z.input<typeof DriftHtmlInputSchema>;

/** Per-feature distribution charts drawn (worst first); the table still lists every feature. */
export const MAX_FEATURE_CHARTS = 20;

const LEVEL_COLOURS: Record<DriftLevel, string> = {
  alert: '#c62828',
  warn: '#ef6c00',
  none: '#2e7d32',
  'insufficient-data': '#9e9e9e',
};

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Long labels are cut for axes (the table shows names in full). */
function shorten(label: string, max = 28): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

function psiAxisMax(entries: readonly FeatureDrift[]): number {
  const top = Math.max(0, ...entries.flatMap((e) => [e.psi ?? 0, e.alertAt]));
  return Math.ceil(top * 1.15 * 100) / 100 || 0.3;
}

/** Horizontal bars (names stay readable however many features there are), worst on top. */
function psiChart(entries: readonly FeatureDrift[], defaults: { warn: number; alert: number }): string {
  const names = entries.map((e) => shorten(e.kind === 'score' ? `score: ${e.feature}` : e.feature, 32));
  const longest = Math.max(...names.map((n) => n.length), 4);
  const custom = entries.filter((e) => e.warnAt !== defaults.warn || e.alertAt !== defaults.alert);
  const threshold = (value: number, label: string, colour: string): object => ({
    xAxis: value,
    label: { formatter: `${label} ${formatNumber(value)}`, color: colour },
    lineStyle: { color: colour, type: 'dashed', width: 1.5 },
  });
  const option: echarts.EChartsOption = {
    grid: { left: Math.min(260, 16 + longest * 7), right: 90, top: 40, bottom: 30 },
    legend: { top: 0, data: custom.length > 0 ? ['PSI', 'custom warn', 'custom alert'] : ['PSI'] },
    xAxis: { type: 'value', min: 0, max: psiAxisMax(entries), name: 'PSI' },
    yAxis: { type: 'category', inverse: true, data: names, axisLabel: { interval: 0 } },
    series: [
      {
        name: 'PSI',
        type: 'bar',
        barMaxWidth: 22,
        data: entries.map((e) => ({ value: e.psi ?? 0, itemStyle: { color: LEVEL_COLOURS[e.level] } })),
        markLine: {
          symbol: 'none',
          silent: true,
          data: [
            threshold(defaults.warn, 'warn', LEVEL_COLOURS.warn),
            threshold(defaults.alert, 'alert', LEVEL_COLOURS.alert),
          ],
        },
      },
      // Features with their own thresholds get a tick at their own levels, not just the default lines.
      ...(custom.length === 0
        ? []
        : (['warn', 'alert'] as const).map((which) => ({
            name: `custom ${which}`,
            type: 'scatter' as const,
            symbol: 'rect',
            symbolSize: [3, 18],
            itemStyle: { color: LEVEL_COLOURS[which] },
            data: custom.map((e) => [which === 'warn' ? e.warnAt : e.alertAt, entries.indexOf(e)]),
          }))),
    ],
  };
  return renderSvg(option, 960, 70 + 26 * Math.max(entries.length, 1), 0);
}

function histogramChart(e: FeatureDrift, chartIndex: number): string {
  const labels = e.labels.map((l) => shorten(l, 24));
  const rotate = labels.length > 8 || labels.some((l) => l.length > 12) ? 35 : 0;
  const option: echarts.EChartsOption = {
    grid: { left: 60, right: 20, top: 36, bottom: rotate > 0 ? 130 : 40 },
    legend: { top: 0, data: ['reference', 'current'] },
    xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, rotate } },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatPercent(v) } },
    series: [
      { name: 'reference', type: 'bar', data: e.reference, itemStyle: { color: '#78909c' } },
      { name: 'current', type: 'bar', data: e.current, itemStyle: { color: LEVEL_COLOURS[e.level] } },
    ],
  };
  return renderSvg(option, 960, rotate > 0 ? 380 : 300, chartIndex);
}

const fixed = (x: number | null): string => (x === null ? '—' : x.toFixed(4));

function badge(level: string): string {
  return `<span class="badge b-${escapeHtml(level)}">${escapeHtml(level)}</span>`;
}

function skewSection(findings: readonly SkewFinding[], insufficient: boolean, blocks: boolean): string {
  const verdict = blocks
    ? '<p class="verdict alert">Skew alerts block retraining on this window.</p>'
    : '<p class="verdict">No skew alert: retraining is not blocked.</p>';
  if (insufficient) return `${verdict}<p>Too few rows to check for skew.</p>`;
  if (findings.length === 0) return `${verdict}<p>No findings.</p>`;
  const rows = findings
    .map(
      (f) =>
        `<tr class="sev-${escapeHtml(f.severity)}"><td>${badge(f.severity)}</td><td><code>${escapeHtml(f.feature)}</code></td>` +
        `<td>${escapeHtml(f.check)}</td><td class="num">${escapeHtml(formatPercent(f.value))}</td>` +
        `<td>${escapeHtml(f.detail)}</td></tr>`,
    )
    .join('\n');
  return (
    `${verdict}<table><thead><tr><th>Severity</th><th>Feature</th><th>Check</th><th>Value</th>` +
    `<th>Detail</th></tr></thead><tbody>\n${rows}\n</tbody></table>`
  );
}

function driftTable(entries: readonly FeatureDrift[]): string {
  const rows = entries
    .map(
      (e) =>
        `<tr><td><code>${escapeHtml(e.feature)}</code></td><td>${escapeHtml(e.kind)}</td>` +
        `<td class="num">${formatCount(e.rows)}</td><td class="num">${fixed(e.psi)}</td>` +
        `<td class="num">${fixed(e.kl)}</td><td class="num">${fixed(e.js)}</td>` +
        `<td class="num">${escapeHtml(formatNumber(e.warnAt))}</td><td class="num">${escapeHtml(formatNumber(e.alertAt))}</td>` +
        `<td>${badge(e.level)}</td></tr>`,
    )
    .join('\n');
  return (
    '<table><thead><tr><th>Feature</th><th>Kind</th><th>Rows</th><th>PSI</th><th>KL(cur‖ref)</th>' +
    `<th>JS distance</th><th>Warn at</th><th>Alert at</th><th>Level</th></tr></thead><tbody>\n${rows}\n</tbody></table>`
  );
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#212121;padding:0 12px}
h1{font-size:1.5rem;margin-bottom:4px}h2{font-size:1.2rem;margin-top:32px;border-bottom:1px solid #e0e0e0;padding-bottom:4px}
h3{font-size:1rem;margin:20px 0 4px}.meta{color:#616161;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:.8rem;white-space:nowrap}
.b-alert{background:#c62828}.b-warn{background:#ef6c00}.b-none{background:#2e7d32}.b-info{background:#1565c0}
.b-insufficient-data{background:#9e9e9e}
tr.sev-alert td{color:#b71c1c;background:#ffebee}tr.sev-warn td{background:#fff3e0}
.verdict{font-weight:600}.verdict.alert{color:#b71c1c}
figure{margin:0 0 16px}svg{max-width:100%;height:auto}
`;

/**
 * Renders a drift and skew report as one self-contained HTML page: inline CSS and inline SVG charts drawn
 * by echarts' server-side renderer, no scripts, fonts or other network resources (a Content-Security-Policy
 * of `default-src 'none'` makes browsers enforce that). All text from the reports is escaped; text inside
 * the charts is escaped by echarts. Deterministic for the same input.
 */
export function renderDriftHtml(input: DriftHtmlInput): string {
  const { modelId, window, drift, skew } = DriftHtmlInputSchema.parse(input);
  const entries = [...drift.features, ...drift.scores];
  // Scores are few (one per class) and always worth seeing, so only features count against the cap.
  const charted = [...drift.features.slice(0, MAX_FEATURE_CHARTS), ...drift.scores];
  const figures = charted
    .map(
      (e, i) =>
        `<figure><h3>${e.kind === 'score' ? 'score: ' : ''}<code>${escapeHtml(e.feature)}</code> ${badge(e.level)} ` +
        `<span class="meta">PSI ${fixed(e.psi)} · JS ${fixed(e.js)}</span></h3>\n${histogramChart(e, i + 1)}</figure>`,
    )
    .join('\n');
  const omitted = Math.max(0, drift.features.length - MAX_FEATURE_CHARTS);
  const title = `Drift and skew report: ${modelId}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Window ${escapeHtml(window.from)} → ${escapeHtml(window.to)} · ${formatCount(drift.rows)} rows against ${formatCount(drift.referenceRows)} reference rows · profile ${escapeHtml(drift.profileFingerprint)}</p>
<p>Drift: ${badge(drift.level)} (${drift.counts.alert} alert, ${drift.counts.warn} warn, ${drift.counts.none} none, ${drift.counts.insufficientData} insufficient data) · Skew: ${skew.counts.alert} alert, ${skew.counts.warn} warn, ${skew.counts.info} info</p>
${drift.invalid.rows > 0 ? `<p>Invalid log lines left out: ${formatCount(drift.invalid.rows)} (${escapeHtml(formatPercent(drift.invalid.rate))}) ${badge(drift.invalid.level)}</p>` : ''}
</header>
<section id="skew">
<h2>Training–serving skew</h2>
${skewSection(skew.findings, skew.insufficientData, skew.blocksRetraining)}
</section>
<section id="psi">
<h2>PSI per feature</h2>
<p class="meta">Dashed lines: default thresholds (warn ${escapeHtml(formatNumber(drift.thresholds.warn))}, alert ${escapeHtml(formatNumber(drift.thresholds.alert))}); ticks mark features with their own thresholds.</p>
${entries.length === 0 ? '<p>No features.</p>' : psiChart(entries, drift.thresholds)}
</section>
<section id="distributions">
<h2>Reference vs current distributions</h2>
${figures}
${omitted > 0 ? `<p class="meta">${omitted} more feature(s) not charted; see the table.</p>` : ''}
</section>
<section id="table">
<h2>All features</h2>
${driftTable(entries)}
</section>
</body>
</html>
`;
}
