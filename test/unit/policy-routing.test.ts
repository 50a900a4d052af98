import type { JoinedRow } from '../../src/schemas/records';
import {
  RoutingConfigSchema,
  candidateFromJoinedRow,
  findRareSlices,
  perClassCutoffs,
  routeCandidates,
  summariseRouting,
} from '../../src/policy/routing';
import type { RouteReason, Route, RoutingCandidate, RoutingConfigInput } from '../../src/policy/routing';

const cutoffs = { spam: 0.6, ham: 0.7 };

/** Default: a plausible ("spam" p=0.65 ≥ 0.6) annotator label the model got wrong. */
function cand(overrides: Partial<RoutingCandidate> = {}): RoutingCandidate {
  return {
    requestId: 'r1',
    predictedLabel: 'ham',
    scores: { spam: 0.65, ham: 0.35 },
    observedLabel: 'spam',
    labelSource: 'annotator',
    labelConfidence: 0.9,
    disagreeingSources: false,
    kind: 'misclassified',
    ...overrides,
  };
}
const implausible = { scores: { spam: 0.1, ham: 0.9 } };
const noAudit: RoutingConfigInput = { auditShare: 0 };

describe('perClassCutoffs', () => {
  it('is the mean probability of the given class over rows labelled with it (hand fixture)', () => {
    const cut = perClassCutoffs([
      { observedLabel: 'a', scores: { a: 0.9, b: 0.1 } },
      { observedLabel: 'a', scores: { a: 0.7, b: 0.3 } },
      { observedLabel: 'b', scores: { a: 0.4, b: 0.6 } },
      { observedLabel: 'b', scores: { a: 0.2 } }, // missing score counts as 0
      { observedLabel: 'c', scores: { c: 0.25 } },
    ]);
    expect(cut.a).toBeCloseTo(0.8, 12);
    expect(cut.b).toBeCloseTo(0.3, 12);
    expect(cut.c).toBeCloseTo(0.25, 12);
    expect(Object.keys(cut)).toEqual(['a', 'b', 'c']);
  });

  it('is empty for no rows', () => {
    expect(perClassCutoffs([])).toEqual({});
  });
});

describe('routeCandidates rules', () => {
  const table: Array<{
    name: string;
    c: Partial<RoutingCandidate>;
    rare?: string[];
    route: Route;
    reason: RouteReason;
    hard: boolean;
  }> = [
    {
      name: 'rare slice goes to a human even from an untrusted, implausible source',
      c: { slices: { country: 'IS' }, labelSource: 'heuristic', ...implausible },
      rare: ['country=IS'],
      route: 'human-review',
      reason: 'rare-slice',
      hard: true,
    },
    {
      name: 'rare slice with a plausible, uncontested label is not hard',
      c: { slices: { country: 'IS' }, labelSource: 'observed' },
      rare: ['country=IS'],
      route: 'human-review',
      reason: 'rare-slice',
      hard: false,
    },
    {
      name: 'non-rare slice is ignored',
      c: { slices: { country: 'DE' } },
      rare: ['country=IS'],
      route: 'auto-relabel',
      reason: 'trusted-source',
      hard: false,
    },
    {
      name: 'disagreeing sources → hard human review',
      c: { disagreeingSources: true, labelSource: 'observed', kind: 'source-disagreement' },
      route: 'human-review',
      reason: 'source-disagreement',
      hard: true,
    },
    {
      name: 'fully trusted source relabels even when the model disputes it',
      c: { labelSource: 'observed', labelConfidence: 1, ...implausible },
      route: 'auto-relabel',
      reason: 'trusted-source',
      hard: false,
    },
    {
      name: 'trusted source, confident, plausible → auto',
      c: {},
      route: 'auto-relabel',
      reason: 'trusted-source',
      hard: false,
    },
    {
      name: 'trusted (not fully) source the model disputes → hard human',
      c: { ...implausible },
      route: 'human-review',
      reason: 'model-disputes-label',
      hard: true,
    },
    {
      name: 'label confidence exactly at the minimum counts as confident',
      c: { labelConfidence: 0.7 },
      route: 'auto-relabel',
      reason: 'trusted-source',
      hard: false,
    },
    {
      name: 'trusted source, low confidence, plausible → human',
      c: { labelConfidence: 0.5 },
      route: 'human-review',
      reason: 'low-label-confidence',
      hard: false,
    },
    {
      name: 'trusted source, low confidence, implausible → drop',
      c: { labelConfidence: 0.5, ...implausible },
      route: 'drop',
      reason: 'low-label-confidence',
      hard: false,
    },
    {
      name: 'untrusted source but plausible → human',
      c: { labelSource: 'user-report' },
      route: 'human-review',
      reason: 'model-confident-in-given-label',
      hard: false,
    },
    {
      name: 'untrusted source and implausible → drop',
      c: { labelSource: 'user-report', ...implausible },
      route: 'drop',
      reason: 'untrusted-source',
      hard: false,
    },
    {
      name: 'heuristic and implausible → drop',
      c: { labelSource: 'heuristic', labelConfidence: 1, ...implausible },
      route: 'drop',
      reason: 'untrusted-source',
      hard: false,
    },
    {
      name: 'given label exactly at the cutoff is plausible',
      c: { labelSource: 'user-report', scores: { spam: 0.6, ham: 0.4 } },
      route: 'human-review',
      reason: 'model-confident-in-given-label',
      hard: false,
    },
    {
      name: 'a class without a cutoff is implausible',
      c: { observedLabel: 'phishing', scores: { spam: 0.5, ham: 0.4, phishing: 0.1 } },
      route: 'human-review',
      reason: 'model-disputes-label',
      hard: true,
    },
  ];

  it.each(table)('$name', ({ c, rare, route, reason, hard }) => {
    const [decision] = routeCandidates({
      candidates: [cand(c)],
      cutoffs,
      rareSlices: rare,
      config: noAudit,
      seed: 1,
    });
    expect(decision).toMatchObject({ requestId: 'r1', route, reason, hard, audit: false });
    expect(decision.detail.length).toBeGreaterThan(0);
  });

  it('honours custom source trust while keeping the other defaults', () => {
    const config = { ...noAudit, sourceTrust: { 'user-report': 0.9 } };
    expect(RoutingConfigSchema.parse(config).sourceTrust).toEqual({
      observed: 1,
      annotator: 0.95,
      'user-report': 0.9,
      heuristic: 0.3,
    });
    const [d] = routeCandidates({
      candidates: [cand({ labelSource: 'user-report' })],
      cutoffs,
      config,
      seed: 1,
    });
    expect(d.route).toBe('auto-relabel');
  });

  it('reports the given-label probability, cutoff and loss', () => {
    const [d] = routeCandidates({ candidates: [cand()], cutoffs, config: noAudit, seed: 1 });
    expect(d.givenLabelProbability).toBe(0.65);
    expect(d.cutoff).toBe(0.6);
    expect(d.loss).toBeCloseTo(-Math.log(0.65), 12);
  });

  it('keeps input order and rejects duplicate request ids', () => {
    const ds = routeCandidates({
      candidates: [cand({ requestId: 'b' }), cand({ requestId: 'a' })],
      cutoffs,
      config: noAudit,
      seed: 1,
    });
    expect(ds.map((d) => d.requestId)).toEqual(['b', 'a']);
    expect(() => routeCandidates({ candidates: [cand(), cand()], cutoffs, seed: 1 })).toThrow('duplicate');
  });
});

describe('routeCandidates budgets', () => {
  // Probability of the given label falls with i, so loss rises with i.
  const rows = (n: number, c: Partial<RoutingCandidate>) =>
    Array.from({ length: n }, (_, i) =>
      cand({
        requestId: `r${String(i).padStart(2, '0')}`,
        scores: { spam: 0.95 - i * 0.01, ham: 0.05 + i * 0.01 },
        ...c,
      }),
    );

  it('keeps the highest-loss human tasks and drops the overflow as human-budget-exhausted', () => {
    const ds = routeCandidates({
      candidates: rows(10, { labelSource: 'user-report' }),
      cutoffs: { spam: 0.5 },
      config: { ...noAudit, maxHumanTasksPerCycle: 3 },
      seed: 1,
    });
    expect(ds.filter((d) => d.route === 'human-review').map((d) => d.requestId)).toEqual([
      'r07',
      'r08',
      'r09',
    ]);
    const overflow = ds.filter((d) => d.route === 'drop');
    expect(overflow).toHaveLength(7);
    for (const d of overflow) {
      expect(d.reason).toBe('human-budget-exhausted');
      expect(d.overflowedFrom).toBe('human-review');
    }
  });

  it('drops auto-relabel overflow as auto-budget-exhausted, independent of the human budget', () => {
    const ds = routeCandidates({
      candidates: [
        ...rows(6, { labelSource: 'observed' }),
        cand({ requestId: 'h1', labelSource: 'user-report', scores: { spam: 0.9 } }),
      ],
      cutoffs: { spam: 0.5 },
      config: { ...noAudit, maxAutoRelabelsPerCycle: 2, maxHumanTasksPerCycle: 1 },
      seed: 1,
    });
    const s = summariseRouting(ds);
    expect(s.byRoute).toEqual({ 'auto-relabel': 2, 'human-review': 1, drop: 4 });
    expect(s.byReason['auto-budget-exhausted']).toBe(4);
    expect(ds.filter((d) => d.route === 'auto-relabel').map((d) => d.requestId)).toEqual(['r04', 'r05']);
  });

  it('a zero budget drops everything on that route', () => {
    const ds = routeCandidates({
      candidates: rows(3, { labelSource: 'user-report' }),
      cutoffs: { spam: 0.5 },
      config: { maxHumanTasksPerCycle: 0 },
      seed: 1,
    });
    expect(ds.every((d) => d.reason === 'human-budget-exhausted')).toBe(true);
  });
});

describe('routeCandidates audit sample', () => {
  const many = Array.from({ length: 10_000 }, (_, i) =>
    cand({ requestId: `req-${i}`, labelSource: 'observed', labelConfidence: 1 }),
  );
  const config: RoutingConfigInput = { maxAutoRelabelsPerCycle: 10_000 };

  it('audits ≈ 5% of auto-relabels, deterministically per seed', () => {
    const a = routeCandidates({ candidates: many, cutoffs, config, seed: 11 });
    const b = routeCandidates({ candidates: many, cutoffs, config, seed: 11 });
    const c = routeCandidates({ candidates: many, cutoffs, config, seed: 12 });
    const audited = (ds: typeof a) => ds.filter((d) => d.audit).map((d) => d.requestId);
    const share = audited(a).length / many.length;
    expect(share).toBeGreaterThan(0.045);
    expect(share).toBeLessThan(0.055);
    expect(audited(b)).toEqual(audited(a));
    expect(audited(c)).not.toEqual(audited(a));
    for (const d of a.filter((x) => x.audit)) {
      expect(d).toMatchObject({ route: 'auto-relabel', reason: 'audit-sample' });
    }
    const s = summariseRouting(a);
    expect(s.audited).toBe(audited(a).length);
    expect(s.byReason['audit-sample'] + s.byReason['trusted-source']).toBe(10_000);
  });

  it('audit selection of a row does not depend on the rest of the batch', () => {
    const full = routeCandidates({ candidates: many, cutoffs, config, seed: 3 });
    const half = routeCandidates({ candidates: many.slice(0, 5000), cutoffs, config, seed: 3 });
    expect(half.map((d) => d.audit)).toEqual(full.slice(0, 5000).map((d) => d.audit));
  });

  it('only rows actually auto-relabelled are audited', () => {
    const ds = routeCandidates({
      candidates: many.slice(0, 1000),
      cutoffs,
      config: { maxAutoRelabelsPerCycle: 100, auditShare: 1 },
      seed: 3,
    });
    expect(ds.filter((d) => d.audit)).toHaveLength(100);
    expect(ds.filter((d) => d.route === 'drop').every((d) => !d.audit)).toBe(true);
  });
});

describe('summariseRouting', () => {
  it('counts every route and reason, zero when unused', () => {
    const ds = routeCandidates({
      candidates: [
        cand({ requestId: 'a' }),
        cand({ requestId: 'b', disagreeingSources: true }),
        cand({ requestId: 'c', labelSource: 'heuristic', ...implausible }),
      ],
      cutoffs,
      config: noAudit,
      seed: 1,
    });
    const s = summariseRouting(ds);
    expect(s.total).toBe(3);
    expect(s.byRoute).toEqual({ 'auto-relabel': 1, 'human-review': 1, drop: 1 });
    expect(s.byReason['trusted-source']).toBe(1);
    expect(s.byReason['source-disagreement']).toBe(1);
    expect(s.byReason['untrusted-source']).toBe(1);
    expect(s.byReason['rare-slice']).toBe(0);
    expect(s.hard).toBe(1);
    expect(s.audited).toBe(0);
  });
});

describe('findRareSlices', () => {
  it('flags slice values under the share among rows carrying that dimension', () => {
    const rows = [
      ...Array.from({ length: 995 }, () => ({ slices: { country: 'DE' } })),
      ...Array.from({ length: 5 }, () => ({ slices: { country: 'IS' } })),
      ...Array.from({ length: 100 }, () => ({})),
    ];
    expect([...findRareSlices(rows, 0.01)]).toEqual(['country=IS']);
    expect([...findRareSlices(rows, 0.005)]).toEqual([]);
  });
});

describe('candidateFromJoinedRow', () => {
  const base: JoinedRow = {
    requestId: 'j1',
    timestamp: '2026-06-01T00:00:00.000Z',
    modelVersion: 'v1',
    features: {},
    predictedLabel: 'ham',
    scores: { ham: 0.95, spam: 0.05 },
    slices: { country: 'DE' },
    outcomes: [],
  };
  const outcome = (
    observedLabel: string,
    source: JoinedRow['outcomes'][number]['source'],
    confidence = 1,
  ) => ({
    observedLabel,
    source,
    confidence,
    timestamp: '2026-06-02T00:00:00.000Z',
  });

  it('returns null without outcomes or when everyone agrees with the prediction', () => {
    expect(candidateFromJoinedRow(base)).toBeNull();
    expect(candidateFromJoinedRow({ ...base, outcomes: [outcome('ham', 'observed')] })).toBeNull();
  });

  it('marks confidently wrong predictions and takes the most trusted label', () => {
    const c = candidateFromJoinedRow({
      ...base,
      outcomes: [outcome('spam', 'heuristic'), outcome('spam', 'annotator', 0.9)],
    });
    expect(c).toMatchObject({
      observedLabel: 'spam',
      labelSource: 'annotator',
      labelConfidence: 0.9,
      kind: 'confidently-wrong',
      disagreeingSources: false,
      slices: { country: 'DE' },
    });
  });

  it('flags source disagreement', () => {
    const c = candidateFromJoinedRow({
      ...base,
      scores: { ham: 0.6, spam: 0.4 },
      outcomes: [outcome('ham', 'user-report'), outcome('spam', 'observed')],
    });
    expect(c).toMatchObject({
      observedLabel: 'spam',
      labelSource: 'observed',
      kind: 'source-disagreement',
      disagreeingSources: true,
    });
  });
});
