import { TrainingDataError } from './errors';

/**
 * Fewest training rows per class the built-in training accepts. With fewer, a model (and its held-out
 * metrics) is noise: two or three rows of a class are learnt by heart, and early stopping, the split
 * and the threshold have nothing to work with. Callers with a reason to go lower pass
 * `minRowsPerClass` explicitly.
 */
export const MIN_ROWS_PER_CLASS = 5;

/** Bad rows named in the message; the count says how many more there were. */
const NAMED = 5;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'no label';
  if (value === '') return '"" (empty)';
  if (typeof value === 'string') return `${JSON.stringify(value)} (blank)`;
  return `${JSON.stringify(value) ?? String(value)} (${Array.isArray(value) ? 'array' : typeof value})`;
}

/**
 * Checks that every row's label is a non-blank string before anything is fitted, so a numeric, null
 * or empty label fails at once with the rows named, instead of after a whole training run as a raw
 * schema error on the finished artifact.
 *
 * @throws TrainingDataError naming up to five offending rows (0-based) and their values.
 */
export function validateLabels(rows: readonly { label: unknown }[], what = 'training'): void {
  const bad: string[] = [];
  let count = 0;
  rows.forEach((row, i) => {
    const label = row.label;
    if (typeof label === 'string' && label.trim() !== '') return;
    count++;
    if (bad.length < NAMED) bad.push(`row ${i}: ${describe(label)}`);
  });
  if (count === 0) return;
  const more = count > bad.length ? ` and ${count - bad.length} more` : '';
  throw new TrainingDataError(
    `${what} labels must be non-empty strings; ${count} of ${rows.length} rows are not: ${bad.join(', ')}${more}`,
  );
}

/**
 * Refuses training data with fewer than `min` rows of some class.
 *
 * @throws TrainingDataError naming each short class and its count.
 */
export function checkRowsPerClass(labels: readonly string[], min: number = MIN_ROWS_PER_CLASS): void {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const short = [...counts.entries()]
    .filter(([, n]) => n < min)
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (short.length === 0) return;
  const list = short.map(([c, n]) => `"${c}" has ${n}`).join(', ');
  throw new TrainingDataError(
    `too few training rows per class (at least ${min} each, MIN_ROWS_PER_CLASS): ${list} of ${labels.length} rows`,
  );
}
