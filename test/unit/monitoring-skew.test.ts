import type { Features } from '../../src/schemas/records';
import {
  accumulate,
  buildProfile,
  checkSkew,
  createAccumulator,
  SkewReportSchema,
} from '../../src/monitoring';
import type { DriftAccumulator, SkewFinding, SkewReport } from '../../src/monitoring';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const codes = ['US', 'UK', 'DE'];

/** Training data: country as ISO-ish codes, age 18..80, income missing in 5 % of rows. */
const training: Features[] = range(0, 999).map((i) => ({
  country: codes[i % 3],
  age: 18 + (i % 63),
  income: i % 20 === 0 ? null : 1000 + i,
}));
const profile = buildProfile(training);

function windowOf(rows: Features[]): DriftAccumulator {
  const acc = createAccumulator(profile);
  for (const r of rows) accumulate(acc, r);
  return acc;
}

const find = (report: SkewReport, feature: string, check: SkewFinding['check']): SkewFinding | undefined =>
  report.findings.find((f) => f.feature === feature && f.check === check);

describe('checkSkew', () => {
  it('has nothing to say about a window that looks like training', () => {
    const report = checkSkew(profile, windowOf(training));
    expect(report.findings).toEqual([]);
    expect(report.blocksRetraining).toBe(false);
    expect(SkewReportSchema.parse(report)).toEqual(report);
  });

  it('alerts on day one when some rows switch country codes to full names, naming the values', () => {
    // The first production day: 1,000 rows, of which 412 + 107 + 101 = 620 (62 %) carry full names.
    const names = [
      ...new Array<string>(412).fill('United States'),
      ...new Array<string>(101).fill('Germany'),
      ...new Array<string>(107).fill('United Kingdom'),
      ...range(1, 380).map((i) => codes[i % 3]),
    ];
    const rows = names.map((country, i) => ({ country, age: 18 + (i % 63), income: 1000 + i }));
    const report = checkSkew(profile, windowOf(rows));
    const finding = find(report, 'country', 'unseen-categories');
    expect(finding).toMatchObject({ severity: 'alert', value: 0.62, threshold: 0.2 });
    expect(finding?.detail).toBe(
      "62% of 'country' values were never seen in training: " +
        "'United States' ×412, 'United Kingdom' ×107, 'Germany' ×101",
    );
    expect(finding?.examples).toEqual([
      { value: 'United States', count: 412 },
      { value: 'United Kingdom', count: 107 },
      { value: 'Germany', count: 101 },
    ]);
    expect(report.blocksRetraining).toBe(true);
    expect(report.findings[0]).toBe(finding);
  });

  it('grades the unseen rate: info below 5 %, warn from 5 %, alert from 20 %, per-feature overrides', () => {
    const withUnseen = (n: number): Features[] =>
      range(0, 999).map((i) => ({ country: i < n ? 'Atlantis' : codes[i % 3], age: 30, income: 1 }));
    expect(find(checkSkew(profile, windowOf(withUnseen(10))), 'country', 'unseen-categories')?.severity).toBe(
      'info',
    );
    expect(find(checkSkew(profile, windowOf(withUnseen(50))), 'country', 'unseen-categories')?.severity).toBe(
      'warn',
    );
    const acc = windowOf(withUnseen(300));
    expect(find(checkSkew(profile, acc), 'country', 'unseen-categories')?.severity).toBe('alert');
    const relaxed = checkSkew(profile, acc, { features: { country: { unseenRate: { alert: 0.5 } } } });
    expect(find(relaxed, 'country', 'unseen-categories')).toMatchObject({
      severity: 'warn',
      threshold: 0.05,
    });
  });

  it('finds a missing-rate increase (warn ≥ 10 points, alert ≥ 30 points)', () => {
    const withMissing = (share: number): Features[] =>
      range(0, 999).map((i) => ({ country: 'US', age: 30, income: i < share * 1000 ? null : 1000 + i }));
    const warn = find(checkSkew(profile, windowOf(withMissing(0.2))), 'income', 'missing-rate');
    expect(warn).toMatchObject({ severity: 'warn', threshold: 0.1 });
    expect(warn?.value).toBeCloseTo(0.15, 12);
    const alert = find(checkSkew(profile, windowOf(withMissing(0.45))), 'income', 'missing-rate');
    expect(alert?.severity).toBe('alert');
    expect(alert?.detail).toBe("'income' was missing in 45% of rows vs 5% in training (+40 points)");
    expect(find(checkSkew(profile, windowOf(withMissing(0.1))), 'income', 'missing-rate')).toBeUndefined();
  });

  it('alerts on a type change and shows the offending values', () => {
    const rows = range(0, 999).map((i) => ({
      country: 'DE',
      age: i % 10 === 0 ? String(20 + (i % 3)) : 30,
      income: 5,
    }));
    const report = checkSkew(profile, windowOf(rows));
    const finding = find(report, 'age', 'type-change');
    expect(finding).toMatchObject({ severity: 'alert', value: 0.1 });
    expect(finding?.detail).toBe(
      "'age' was numeric in training but 10% of its values (100) arrived as string (100): '20' ×34, '21' ×33, '22' ×33",
    );
    expect(report.blocksRetraining).toBe(true);
  });

  it('finds range violations, dropped features and new features', () => {
    const rows = range(0, 999).map((i) => ({
      age: i < 100 ? 150 : i < 130 ? -1 : 40,
      income: 1500,
      session_id: `s${i}`,
    }));
    const report = checkSkew(profile, windowOf(rows));
    const age = find(report, 'age', 'range-violation');
    expect(age).toMatchObject({ severity: 'warn', value: 0.13 });
    expect(age?.detail).toBe(
      "13% of 'age' values fell outside the training range [18, 80]: 3% below (down to -1), 10% above (up to 150)",
    );
    expect(find(report, 'country', 'missing-feature')).toMatchObject({
      severity: 'alert',
      detail: "'country' was absent from all 1,000 rows but had a value in 100% of training rows",
    });
    // A dropped column is not also reported as a missing-rate increase.
    expect(find(report, 'country', 'missing-rate')).toBeUndefined();
    expect(find(report, 'session_id', 'new-feature')).toMatchObject({ severity: 'info', value: 1 });
    expect(report.findings.map((f) => f.severity)).toEqual(['alert', 'warn', 'info']);
  });

  it('raises nothing on too few rows', () => {
    const report = checkSkew(profile, windowOf([{ country: 'Narnia', age: 'old' }]));
    expect(report).toMatchObject({ insufficientData: true, blocksRetraining: false, findings: [] });
    expect(checkSkew(profile, windowOf([{ country: 'Narnia' }]), { minRows: 1 }).blocksRetraining).toBe(true);
  });
});
