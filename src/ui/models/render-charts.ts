import type * as echarts from 'echarts';
import { renderSvg } from '../../monitoring/svg-chart';
import type { WeekEfficacy } from './efficacy';
import type { DriftPoint } from './model-data';

/** Features drawn in the drift chart (those with the highest PSI in any run); the table lists all. */
export const MAX_DRIFT_SERIES = 12;

/** PSI thresholds drawn as lines (the essay's: 0.1 slight, 0.25 intervention). */
const WARN = 0.1;
const ALERT = 0.25;

const shorten = (label: string, max = 32): string =>
  label.length > max ? `${label.slice(0, max - 1)}…` : label;

/** The x-axis label of a drift report: its window's end day and, for a non-cycle run, its id. */
export function driftRunLabel(p: DriftPoint): string {
  return p.window.to.slice(0, 10);
}

/** The features charted: highest PSI in any run first, at most {@link MAX_DRIFT_SERIES}. */
export function chartedFeatures(points: readonly DriftPoint[]): string[] {
  const worst = new Map<string, number>();
  for (const p of points)
    for (const f of p.features) worst.set(f.feature, Math.max(worst.get(f.feature) ?? 0, f.psi ?? 0));
  return [...worst.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_DRIFT_SERIES)
    .map(([f]) => f);
}

/**
 * PSI per feature per run, one line per feature, with the warn and alert thresholds: an inline SVG from
 * echarts' server-side renderer (text in it is escaped by echarts). `chartIndex` keeps ids unique on a page.
 */
export function driftChartSvg(points: readonly DriftPoint[], chartIndex = 0): string {
  const features = chartedFeatures(points);
  const labels = points.map(driftRunLabel);
  const top = Math.max(ALERT, ...points.flatMap((p) => p.features.map((f) => f.psi ?? 0)));
  const option: echarts.EChartsOption = {
    grid: { left: 56, right: 64, top: 24 + 22 * Math.ceil(features.length / 4), bottom: 40 },
    legend: { top: 0, type: 'plain', data: features.map((f) => shorten(f)) },
    xAxis: { type: 'category', data: labels, name: 'window end', nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'value', min: 0, max: Math.ceil(top * 1.15 * 100) / 100, name: 'PSI' },
    series: features.map((feature, i) => ({
      name: shorten(feature),
      type: 'line' as const,
      connectNulls: false,
      data: points.map((p) => p.features.find((f) => f.feature === feature)?.psi ?? null),
      ...(i === 0
        ? {
            markLine: {
              symbol: 'none',
              silent: true,
              data: [
                {
                  yAxis: WARN,
                  label: { formatter: `warn ${WARN}` },
                  lineStyle: { color: '#ef6c00', type: 'dashed' as const },
                },
                {
                  yAxis: ALERT,
                  label: { formatter: `alert ${ALERT}` },
                  lineStyle: { color: '#c62828', type: 'dashed' as const },
                },
              ],
            },
          }
        : {}),
    })),
  };
  return renderSvg(option, 960, 340 + 22 * Math.ceil(features.length / 4), chartIndex);
}

/**
 * Production precision and recall per week beside the offline precision of the serving version: the
 * efficacy chart of `bench:loop`, from the store's real joined data.
 */
export function efficacyChartSvg(weeks: readonly WeekEfficacy[], chartIndex = 1): string {
  const option: echarts.EChartsOption = {
    grid: { left: 56, right: 24, top: 40, bottom: 40 },
    legend: { top: 0, data: ['production precision', 'production recall', 'offline precision'] },
    xAxis: {
      type: 'category',
      data: weeks.map((w) => w.weekStart),
      name: 'week of',
      nameLocation: 'middle',
      nameGap: 26,
    },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: [
      {
        name: 'production precision',
        type: 'line',
        data: weeks.map((w) => w.precision),
        itemStyle: { color: '#1565c0' },
      },
      {
        name: 'production recall',
        type: 'line',
        data: weeks.map((w) => w.recall),
        itemStyle: { color: '#2e7d32' },
      },
      {
        name: 'offline precision',
        type: 'line',
        data: weeks.map((w) => w.offlinePrecision),
        itemStyle: { color: '#757575' },
        lineStyle: { type: 'dashed' },
      },
    ],
  };
  return renderSvg(option, 960, 320, chartIndex);
}
