import { Context } from '@temporalio/activity';
import type { MetricTags } from '@temporalio/common';

/**
 * Adds to a project counter through the running activity's SDK metric meter (tagged with namespace,
 * task queue and activity type by the SDK), so the worker's one Prometheus endpoint serves it. Outside
 * an activity (benchmarks, unit tests) and without a metrics exporter it does nothing.
 */
export function countInActivity(name: string, value: number, tags: MetricTags, unit = '1', help = ''): void {
  if (value <= 0) return;
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.metricMeter.createCounter(name, unit, help).add(value, tags);
}

/** Sets a project gauge through the running activity's SDK metric meter (no-op outside an activity). */
export function gaugeInActivity(name: string, value: number, tags: MetricTags, unit = '1', help = ''): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.metricMeter.createGauge(name, 'int', unit, help).set(value, tags);
}
