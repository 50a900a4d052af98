import { checkFlipRate, decideRetrain, predictionFlipRate } from '../../src/policy/feedback-caps';
import type { DecideRetrainInput, RetrainCap } from '../../src/policy/feedback-caps';

const NOW = '2026-06-10T12:00:00.000Z';

describe('decideRetrain', () => {
  const table: Array<{
    name: string;
    input: Partial<DecideRetrainInput>;
    allowed: boolean;
    caps: RetrainCap[];
    nextAllowedAt: string | null;
  }> = [
    {
      name: 'no history, enough evidence → allowed',
      input: {},
      allowed: true,
      caps: [],
      nextAllowedAt: null,
    },
    {
      name: 'exactly 24 h after the last retrain → allowed',
      input: { history: ['2026-06-09T12:00:00.000Z'], lastRetrainAt: '2026-06-09T12:00:00.000Z' },
      allowed: true,
      caps: [],
      nextAllowedAt: null,
    },
    {
      name: '23 h 59 m after the last retrain → cooldown',
      input: { history: ['2026-06-09T12:01:00.000Z'] },
      allowed: false,
      caps: ['cooldown'],
      nextAllowedAt: '2026-06-10T12:01:00.000Z',
    },
    {
      name: 'lastRetrainAt alone triggers the cooldown',
      input: { lastRetrainAt: '2026-06-10T11:00:00.000Z' },
      allowed: false,
      caps: ['cooldown'],
      nextAllowedAt: '2026-06-11T11:00:00.000Z',
    },
    {
      name: '3 retrains in 7 days → window cap until oldest + 7 d',
      input: {
        history: ['2026-06-06T00:00:00.000Z', '2026-06-04T00:00:00.000Z', '2026-06-08T00:00:00.000Z'],
      },
      allowed: false,
      caps: ['max-per-window'],
      nextAllowedAt: '2026-06-11T00:00:00.000Z',
    },
    {
      name: 'the oldest retrain exactly 7 days ago has left the window',
      input: {
        history: ['2026-06-03T12:00:00.000Z', '2026-06-06T00:00:00.000Z', '2026-06-08T00:00:00.000Z'],
      },
      allowed: true,
      caps: [],
      nextAllowedAt: null,
    },
    {
      name: '4 retrains in the window → clears when the 2nd oldest leaves',
      input: {
        history: [
          '2026-06-04T00:00:00.000Z',
          '2026-06-05T00:00:00.000Z',
          '2026-06-06T00:00:00.000Z',
          '2026-06-08T00:00:00.000Z',
        ],
      },
      allowed: false,
      caps: ['max-per-window'],
      nextAllowedAt: '2026-06-12T00:00:00.000Z',
    },
    {
      name: 'lastRetrainAt repeated in history is counted once',
      input: {
        history: ['2026-06-05T00:00:00.000Z', '2026-06-07T00:00:00.000Z'],
        lastRetrainAt: '2026-06-07T00:00:00.000Z',
      },
      allowed: true,
      caps: [],
      nextAllowedAt: null,
    },
    {
      name: 'too little new evidence → min-evidence with no time',
      input: { newLabelledRowsSinceLastRetrain: 499 },
      allowed: false,
      caps: ['min-evidence'],
      nextAllowedAt: null,
    },
    {
      name: 'exactly the minimum evidence → allowed',
      input: { newLabelledRowsSinceLastRetrain: 500 },
      allowed: true,
      caps: [],
      nextAllowedAt: null,
    },
    {
      name: 'drift waives the evidence minimum',
      input: { newLabelledRowsSinceLastRetrain: 10, driftTriggered: true },
      allowed: true,
      caps: [],
      nextAllowedAt: null,
    },
    {
      name: 'drift does not waive the cooldown',
      input: {
        history: ['2026-06-10T06:00:00.000Z'],
        newLabelledRowsSinceLastRetrain: 10,
        driftTriggered: true,
      },
      allowed: false,
      caps: ['cooldown'],
      nextAllowedAt: '2026-06-11T06:00:00.000Z',
    },
    {
      name: 'several caps at once → nextAllowedAt is when all time caps clear',
      input: {
        history: ['2026-06-04T00:00:00.000Z', '2026-06-08T00:00:00.000Z', '2026-06-10T11:00:00.000Z'],
        newLabelledRowsSinceLastRetrain: 5,
      },
      allowed: false,
      caps: ['cooldown', 'max-per-window', 'min-evidence'],
      nextAllowedAt: '2026-06-11T11:00:00.000Z',
    },
    {
      name: 'window clearance later than cooldown wins',
      input: {
        history: ['2026-06-09T00:00:00.000Z', '2026-06-09T06:00:00.000Z', '2026-06-10T00:00:00.000Z'],
      },
      allowed: false,
      caps: ['cooldown', 'max-per-window'],
      nextAllowedAt: '2026-06-16T00:00:00.000Z',
    },
  ];

  it.each(table)('$name', ({ input, allowed, caps, nextAllowedAt }) => {
    const d = decideRetrain({
      now: NOW,
      history: [],
      lastRetrainAt: null,
      newLabelledRowsSinceLastRetrain: 1000,
      driftTriggered: false,
      ...input,
    });
    expect(d.allowed).toBe(allowed);
    expect(d.firedCaps.map((c) => c.cap)).toEqual(caps);
    expect(d.nextAllowedAt).toBe(nextAllowedAt);
    for (const c of d.firedCaps) expect(c.detail.length).toBeGreaterThan(0);
  });

  it('is allowed at its own nextAllowedAt', () => {
    const input = {
      history: ['2026-06-04T00:00:00.000Z', '2026-06-08T00:00:00.000Z', '2026-06-10T11:00:00.000Z'],
      lastRetrainAt: null,
      newLabelledRowsSinceLastRetrain: 1000,
      driftTriggered: false,
    };
    const blocked = decideRetrain({ now: NOW, ...input });
    expect(blocked.allowed).toBe(false);
    const later = decideRetrain({ now: blocked.nextAllowedAt!, ...input });
    expect(later.allowed).toBe(true);
    expect(decideRetrain({ now: Date.parse(blocked.nextAllowedAt!) - 1, ...input }).allowed).toBe(false);
  });

  it('reports the evidence waiver and explains the evidence cap', () => {
    const base = { now: NOW, history: [], lastRetrainAt: null, newLabelledRowsSinceLastRetrain: 12 };
    expect(decideRetrain({ ...base, driftTriggered: true }).evidenceWaived).toBe(true);
    const d = decideRetrain({ ...base, driftTriggered: false });
    expect(d.firedCaps[0].detail).toBe('only 12 new labelled rows since the last retrain, need 500');
  });

  it('accepts epoch ms and custom config, and rejects invalid times', () => {
    const d = decideRetrain({
      now: Date.parse(NOW),
      history: ['2026-06-10T00:00:00.000Z'],
      lastRetrainAt: null,
      newLabelledRowsSinceLastRetrain: 0,
      driftTriggered: false,
      config: { cooldownHours: 6, minNewLabelledRows: 0 },
    });
    expect(d.allowed).toBe(true);
    expect(() =>
      decideRetrain({
        now: 'soon',
        history: [],
        lastRetrainAt: null,
        newLabelledRowsSinceLastRetrain: 0,
        driftTriggered: false,
      }),
    ).toThrow('invalid now');
  });
});

describe('checkFlipRate / predictionFlipRate', () => {
  it.each([
    [0, true],
    [0.1, true],
    [0.1001, false],
    [0.5, false],
  ])('flip rate %p passes: %p', (flipRate, passed) => {
    expect(checkFlipRate({ flipRate }).passed).toBe(passed);
  });

  it('uses the configured cap and rejects out-of-range rates', () => {
    expect(checkFlipRate({ flipRate: 0.15, config: { maxPredictionFlipRate: 0.2 } })).toMatchObject({
      passed: true,
      max: 0.2,
    });
    expect(() => checkFlipRate({ flipRate: 1.5 })).toThrow();
  });

  it('computes the share of changed predictions', () => {
    expect(predictionFlipRate(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'y'])).toBe(0.5);
    expect(predictionFlipRate([], [])).toBe(0);
    expect(() => predictionFlipRate(['a'], [])).toThrow('differ in length');
  });
});
