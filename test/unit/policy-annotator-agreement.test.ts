import {
  cohensKappa,
  consensusAgreement,
  labelsPerAnnotator,
  pairwiseKappa,
} from '../../src/policy/annotator-agreement';
import type { AnnotatedTask } from '../../src/policy/annotator-agreement';

describe("Cohen's kappa", () => {
  test('a textbook table: 50 items, 20+15 agreements, p_o 0.7, p_e 0.5, kappa 0.4', () => {
    // Rater A: yes 25 / no 25; rater B: yes 30 / no 20; both yes 20, both no 15.
    const pairs: [string, string][] = [
      ...Array.from({ length: 20 }, () => ['yes', 'yes'] as [string, string]),
      ...Array.from({ length: 5 }, () => ['yes', 'no'] as [string, string]),
      ...Array.from({ length: 10 }, () => ['no', 'yes'] as [string, string]),
      ...Array.from({ length: 15 }, () => ['no', 'no'] as [string, string]),
    ];
    const r = cohensKappa(pairs);
    expect(r.n).toBe(50);
    expect(r.observed).toBeCloseTo(0.7, 12);
    expect(r.expected).toBeCloseTo(0.5 * 0.6 + 0.5 * 0.4, 12);
    expect(r.kappa).toBeCloseTo(0.4, 12);
  });

  test('perfect agreement is 1, systematic disagreement is negative, and undefined cases are null', () => {
    expect(
      cohensKappa([
        ['a', 'a'],
        ['b', 'b'],
      ]).kappa,
    ).toBeCloseTo(1, 12);
    expect(
      cohensKappa([
        ['a', 'b'],
        ['b', 'a'],
      ]).kappa,
    ).toBeCloseTo(-1, 12);
    expect(cohensKappa([]).kappa).toBeNull();
    // Both always say "a": chance agreement is 1, kappa undefined rather than 0/0.
    expect(
      cohensKappa([
        ['a', 'a'],
        ['a', 'a'],
      ]).kappa,
    ).toBeNull();
  });
});

const tasks: AnnotatedTask[] = [
  {
    taskId: 't1',
    labels: [
      { annotator: 'alice', label: 'churn' },
      { annotator: 'bob', label: 'churn' },
    ],
    finalLabel: 'churn',
    finishedAt: '2026-06-10T10:00:00.000Z',
  },
  {
    taskId: 't2',
    labels: [
      { annotator: 'alice', label: 'stay' },
      { annotator: 'bob', label: 'churn' },
      { annotator: 'carol', label: 'churn' },
    ],
    finalLabel: 'churn',
    finishedAt: '2026-06-10T11:00:00.000Z',
  },
  {
    taskId: 't3',
    labels: [
      { annotator: 'alice', label: 'stay' },
      { annotator: 'bob', label: 'churn' },
    ],
    // escalated: no consensus
    finishedAt: '2026-06-11T09:00:00.000Z',
  },
  {
    taskId: 't4',
    labels: [{ annotator: 'alice', label: 'stay' }],
    finalLabel: 'stay',
    finishedAt: '2026-06-09T09:00:00.000Z',
  },
];

test('agreement with consensus counts only multi-annotator tasks that reached one', () => {
  expect(consensusAgreement(tasks)).toEqual([
    { annotator: 'alice', tasks: 2, agreed: 1, rate: 0.5 },
    { annotator: 'bob', tasks: 2, agreed: 2, rate: 1 },
    { annotator: 'carol', tasks: 1, agreed: 1, rate: 1 },
  ]);
});

test('pairwise kappa uses every task two annotators share, escalated ones included', () => {
  const pairs = pairwiseKappa(tasks);
  expect(pairs.map((p) => [p.a, p.b, p.n])).toEqual([
    ['alice', 'bob', 3],
    ['alice', 'carol', 1],
    ['bob', 'carol', 1],
  ]);
  // alice/bob: (churn,churn) (stay,churn) (stay,churn): p_o 1/3, p_e = 1/3·1 + 2/3·0 = 1/3 → kappa 0.
  expect(pairs[0].observed).toBeCloseTo(1 / 3, 12);
  expect(pairs[0].kappa).toBeCloseTo(0, 12);
});

test('labels per annotator count the tasks finished in the window', () => {
  const day = labelsPerAnnotator(
    tasks,
    Date.parse('2026-06-10T00:00:00Z'),
    Date.parse('2026-06-11T00:00:00Z'),
  );
  expect(Object.fromEntries(day)).toEqual({ alice: 2, bob: 2, carol: 1 });
});
