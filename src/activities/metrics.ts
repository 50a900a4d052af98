import { Context } from '@temporalio/activity';
import type { MetricTags } from '@temporalio/common';
import type { MetricDef } from '../workflows/metric-catalog';

/**
 * Adds to a project counter through the running activity's SDK metric meter (tagged with namespace,
 * task queue and activity type by the SDK), so the worker's one Prometheus endpoint serves it. Outside
 * an activity (benchmarks, unit tests) and without a metrics exporter it does nothing.
 */
export function countInActivity(metric: MetricDef, value: number, tags: MetricTags): void {
  if (value <= 0) return;
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.metricMeter.createCounter(metric.name, metric.unit, metric.help).add(value, tags);
}

/** Sets a project gauge through the running activity's SDK metric meter (no-op outside an activity). */
export function gaugeInActivity(metric: MetricDef, value: number, tags: MetricTags): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.metricMeter.createGauge(metric.name, 'int', metric.unit, metric.help).set(value, tags);
}
