/**
 * How well annotators agree: with the consensus of the tasks they labelled, and with each other
 * (Cohen's kappa per pair). Pure: the web app's lead view and personal stats feed it label records read
 * from the store and the queue.
 */

/** One task as labelled by people: who gave which label, and the consensus if one was reached. */
export interface AnnotatedTask {
  taskId: string;
  labels: { annotator: string; label: string }[];
  /** The consensus (or single) label of a done task; absent for an escalated task (no agreement). */
  finalLabel?: string;
  /** When the task was finished (ISO-8601), if known. */
  finishedAt?: string;
}

/** Cohen's kappa of two raters over the same items. */
export interface KappaResult {
  /** Items both rated. */
  n: number;
  /** Share of items on which they agreed. */
  observed: number;
  /** Agreement expected by chance from each rater's own label shares. */
  expected: number;
  /** (observed − expected) / (1 − expected); null when undefined (no items, or chance agreement is 1). */
  kappa: number | null;
}

/**
 * Cohen's kappa for paired ratings `[a, b]` of the same items by two raters:
 * κ = (p_o − p_e) / (1 − p_e), with p_e = Σ_k p_a(k)·p_b(k). Undefined (null) for no items, or when
 * both raters used one and the same label throughout (p_e = 1).
 */
export function cohensKappa(pairs: readonly (readonly [string, string])[]): KappaResult {
  const n = pairs.length;
  if (n === 0) return { n, observed: 0, expected: 0, kappa: null };
  const a = new Map<string, number>();
  const b = new Map<string, number>();
  let agree = 0;
  for (const [x, y] of pairs) {
    if (x === y) agree++;
    a.set(x, (a.get(x) ?? 0) + 1);
    b.set(y, (b.get(y) ?? 0) + 1);
  }
  const observed = agree / n;
  let expected = 0;
  for (const [k, na] of a) expected += (na / n) * ((b.get(k) ?? 0) / n);
  const kappa = 1 - expected < 1e-12 ? null : (observed - expected) / (1 - expected);
  return { n, observed, expected, kappa };
}

/** Kappa of one pair of annotators over the tasks both labelled. */
export interface PairKappa extends KappaResult {
  a: string;
  b: string;
}

/** Cohen's kappa for every pair of annotators who labelled at least one task in common (names sorted). */
export function pairwiseKappa(tasks: readonly AnnotatedTask[]): PairKappa[] {
  const pairs = new Map<string, [string, string][]>();
  for (const t of tasks) {
    // One label per annotator and task (the queue refuses a second, different one).
    const byAnnotator = new Map<string, string>();
    for (const l of t.labels) if (!byAnnotator.has(l.annotator)) byAnnotator.set(l.annotator, l.label);
    const names = [...byAnnotator.keys()].sort();
    for (let i = 0; i < names.length; i++)
      for (let j = i + 1; j < names.length; j++) {
        const key = JSON.stringify([names[i], names[j]]);
        const list = pairs.get(key) ?? [];
        list.push([byAnnotator.get(names[i])!, byAnnotator.get(names[j])!]);
        pairs.set(key, list);
      }
  }
  return [...pairs.entries()]
    .map(([key, list]) => {
      const [a, b] = JSON.parse(key) as [string, string];
      return { a, b, ...cohensKappa(list) };
    })
    .sort((x, y) => (x.a === y.a ? x.b.localeCompare(y.b) : x.a.localeCompare(y.a)));
}

/** An annotator's agreement with the consensus. */
export interface ConsensusAgreement {
  annotator: string;
  /** Tasks with a consensus reached by several annotators that this annotator labelled. */
  tasks: number;
  /** Of those, how many they labelled as the consensus. */
  agreed: number;
  /** agreed / tasks; null without such tasks. */
  rate: number | null;
}

/**
 * Per annotator, agreement with the consensus over tasks that several people labelled and that reached
 * a consensus. Single-label tasks are left out (their "consensus" is the annotator's own label), and so
 * are escalated tasks (no consensus to agree with).
 */
export function consensusAgreement(tasks: readonly AnnotatedTask[]): ConsensusAgreement[] {
  const out = new Map<string, { tasks: number; agreed: number }>();
  for (const t of tasks) {
    if (t.finalLabel === undefined) continue;
    const annotators = new Set(t.labels.map((l) => l.annotator));
    if (annotators.size < 2) continue;
    for (const l of t.labels) {
      const s = out.get(l.annotator) ?? { tasks: 0, agreed: 0 };
      s.tasks++;
      if (l.label === t.finalLabel) s.agreed++;
      out.set(l.annotator, s);
    }
  }
  return [...out.entries()]
    .map(([annotator, s]) => ({ annotator, ...s, rate: s.tasks > 0 ? s.agreed / s.tasks : null }))
    .sort((x, y) => x.annotator.localeCompare(y.annotator));
}

/** Labels given per annotator on tasks finished in `[fromMs, toMs)`. */
export function labelsPerAnnotator(
  tasks: readonly AnnotatedTask[],
  fromMs: number,
  toMs: number,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of tasks) {
    const at = t.finishedAt ? Date.parse(t.finishedAt) : NaN;
    if (!(at >= fromMs && at < toMs)) continue;
    for (const l of t.labels) out.set(l.annotator, (out.get(l.annotator) ?? 0) + 1);
  }
  return out;
}
