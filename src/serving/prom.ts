/**
 * A minimal Prometheus text-format (0.0.4) writer: counters, gauges and one histogram type are all
 * serving needs, and a dependency for that would be more code to trust than this file.
 */

/** Label name → value. */
export type Labels = Record<string, string>;

/** Escapes a label value as the exposition format requires (backslash, quote, newline). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Accumulates metric families and renders them; one instance per scrape. */
export class PromText {
  private readonly lines: string[] = [];

  /** Starts a family with its HELP and TYPE lines. */
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.lines.push(
      `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
      `# TYPE ${name} ${type}`,
    );
    return this;
  }

  /** One sample of the current family. */
  sample(name: string, value: number, labels?: Labels): this {
    this.lines.push(`${name}${labelText(labels)} ${numberText(value)}`);
    return this;
  }

  /** A counter or gauge family with one sample per label set (a family with no samples is still declared). */
  metric(
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    samples: Iterable<{ labels?: Labels; value: number }>,
  ): this {
    this.family(name, type, help);
    for (const s of samples) this.sample(name, s.value, s.labels);
    return this;
  }

  /** A histogram family from cumulative-ready bucket counts. */
  histogram(name: string, help: string, histograms: Iterable<{ labels?: Labels; h: Histogram }>): this {
    this.family(name, 'histogram', help);
    for (const { labels, h } of histograms) {
      let cumulative = 0;
      h.bounds.forEach((le, i) => {
        cumulative += h.counts[i];
        this.sample(`${name}_bucket`, cumulative, { ...labels, le: numberText(le) });
      });
      this.sample(`${name}_bucket`, h.count, { ...labels, le: '+Inf' });
      this.sample(`${name}_sum`, h.sum, labels);
      this.sample(`${name}_count`, h.count, labels);
    }
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A fixed-bucket histogram (counts per bucket, not yet cumulative). */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    // Few buckets: a linear scan beats a binary search here.
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  /** Approximate quantile (upper bound of the bucket holding it), e.g. for /status summaries. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const target = q * this.count;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i];
      if (cumulative >= target) return this.bounds[i];
    }
    return Infinity;
  }
}

/** Joins label names and values into a map key (cheaper than JSON.stringify on the request path). */
function keyOf(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

/** One label set of a {@link LabeledCounter}, resolved once. */
export interface CounterHandle {
  inc(by?: number): void;
}

/** A counter keyed by a label set. */
export class LabeledCounter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  inc(labels: Labels, by = 1): void {
    const key = keyOf(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  /**
   * The same count as `inc(labels)` without building the key per call, for per-request counting. The
   * series appears on its first `inc`, as with `inc(labels)`: a handle alone exports nothing.
   */
  handle(labels: Labels): CounterHandle {
    const key = keyOf(labels);
    let entry = this.values.get(key);
    return {
      inc: (by = 1) => {
        if (!entry) {
          entry = this.values.get(key);
          if (!entry) this.values.set(key, (entry = { labels, value: 0 }));
        }
        entry.value += by;
      },
    };
  }

  get(labels: Labels): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }

  samples(): Array<{ labels: Labels; value: number }> {
    return [...this.values.values()];
  }
}
