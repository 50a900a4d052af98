import {
  averagePrecision,
  calibration,
  chooseThreshold,
  confusionMatrix,
  evaluate,
  EvaluationReportSchema,
  metricsBySlice,
  rocAuc,
} from '../../src/ml';

// Binary fixture used throughout (positive class "churn"):
//   score: 0.1   0.4   0.35  0.8   0.4
//   label: stay  stay  churn churn churn
const p = [0.1, 0.4, 0.35, 0.8, 0.4];
const yTrue = ['stay', 'stay', 'churn', 'churn', 'churn'];
const isPositive = yTrue.map((y) => y === 'churn');
const scores = p.map((churn) => ({ stay: 1 - churn, churn }));

describe('ranking metrics', () => {
  it('ROC AUC counts a tied positive/negative pair as half', () => {
    // Pairs (pos, neg): (.35,.1)=1 (.35,.4)=0 (.8,.1)=1 (.8,.4)=1 (.4,.1)=1 (.4,.4)=0.5 → 4.5 / 6.
    expect(rocAuc(p, isPositive)).toBeCloseTo(0.75, 12);
  });

  it('ROC AUC is 0.5 when every score ties and null when a class is absent', () => {
    expect(rocAuc([0.3, 0.3, 0.3, 0.3], [true, false, true, false])).toBe(0.5);
    expect(rocAuc([0.1, 0.2], [true, true])).toBeNull();
  });

  it('average precision steps through tie groups', () => {
    // ≥.8: P=1 R=1/3; ≥.4 (one pos, one neg tied): P=2/3 R=2/3; ≥.35: P=3/4 R=1; ≥.1: R unchanged.
    // AP = 1/3*1 + 1/3*2/3 + 1/3*3/4 = 29/36.
    expect(averagePrecision(p, isPositive)).toBeCloseTo(29 / 36, 12);
    expect(averagePrecision([0.9, 0.1], [true, false])).toBe(1);
    expect(averagePrecision([0.9, 0.1], [false, false])).toBeNull();
  });
});

describe('evaluate (binary)', () => {
  const report = evaluate({
    yTrue,
    scores,
    classes: ['stay', 'churn'],
    positiveClass: 'churn',
    threshold: 0.5,
  });

  it('matches hand-computed values', () => {
    expect(EvaluationReportSchema.parse(report)).toEqual(report);
    expect(report.n).toBe(5);
    expect(report.positiveClass).toBe('churn');
    expect(report.rocAuc).toBeCloseTo(0.75, 12);
    expect(report.prAuc).toBeCloseTo(29 / 36, 12);
    // Only 0.8 ≥ 0.5 → predicted churn for row 4 only.
    expect(report.confusionMatrix).toEqual({
      labels: ['stay', 'churn'],
      counts: [
        [2, 0],
        [2, 1],
      ],
    });
    expect(report.accuracy).toBeCloseTo(3 / 5, 12);
    const [stay, churn] = report.perClass;
    expect(stay).toEqual({
      class: 'stay',
      precision: 0.5,
      recall: 1,
      f1: expect.closeTo(2 / 3, 12),
      support: 2,
    });
    expect(churn).toEqual({
      class: 'churn',
      precision: 1,
      recall: expect.closeTo(1 / 3, 12),
      f1: expect.closeTo(0.5, 12),
      support: 3,
    });
    expect(report.macroF1).toBeCloseTo((2 / 3 + 0.5) / 2, 12);
    expect(report.macroPrecision).toBeCloseTo(0.75, 12);
    expect(report.macroRecall).toBeCloseTo(2 / 3, 12);
  });

  it('log loss, Brier and ECE match hand computation', () => {
    const expectedLogLoss =
      -(Math.log(0.9) + Math.log(0.6) + Math.log(0.35) + Math.log(0.8) + Math.log(0.4)) / 5;
    expect(report.logLoss).toBeCloseTo(expectedLogLoss, 12);
    // (0.1² + 0.4² + 0.65² + 0.2² + 0.6²) / 5
    expect(report.brier).toBeCloseTo(0.9925 / 5, 12);
    // Bins: [.1,.2): p=.1 rate 0 → .1; [.3,.4): p=.35 rate 1 → .65; [.4,.5): 2 rows p=.4 rate .5 → .1;
    // [.8,.9): p=.8 rate 1 → .2. ECE = (.1 + .65 + 2*.1 + .2) / 5 = .23.
    expect(report.ece).toBeCloseTo(0.23, 12);
    expect(report.calibration).toHaveLength(10);
    expect(report.calibration[4]).toEqual({
      lower: 0.4,
      upper: 0.5,
      count: 2,
      meanPredicted: 0.4,
      observedRate: 0.5,
    });
    expect(report.calibration[0]).toEqual({
      lower: 0,
      upper: 0.1,
      count: 0,
      meanPredicted: null,
      observedRate: null,
    });
  });

  it('applies the threshold (and defaults positive to classes[1])', () => {
    const low = evaluate({ yTrue, scores, classes: ['stay', 'churn'], threshold: 0.3 });
    expect(low.positiveClass).toBe('churn');
    // ≥ .3: rows 2..5 predicted churn.
    expect(low.confusionMatrix.counts).toEqual([
      [1, 1],
      [0, 3],
    ]);
  });

  it('clips log loss so a confident miss is finite', () => {
    const r = evaluate({
      yTrue: ['a', 'b'],
      scores: [
        { a: 0, b: 1 },
        { a: 0, b: 1 },
      ],
      classes: ['a', 'b'],
    });
    expect(r.logLoss).toBeCloseTo(-Math.log(1e-15) / 2, 6);
  });

  it('rejects malformed input', () => {
    expect(() => evaluate({ yTrue: [], scores: [], classes: ['a', 'b'] })).toThrow(/empty/);
    expect(() => evaluate({ yTrue: ['a'], scores: [], classes: ['a', 'b'] })).toThrow(/1 labels but 0/);
    expect(() => evaluate({ yTrue: ['z'], scores: [{ a: 1 }], classes: ['a', 'b'] })).toThrow(/"z"/);
    expect(() => evaluate({ yTrue: ['a'], scores: [{ a: NaN }], classes: ['a', 'b'] })).toThrow(/finite/);
    expect(() =>
      evaluate({ yTrue: ['a'], scores: [{ a: 1 }], classes: ['a', 'b', 'c'], threshold: 0.2 }),
    ).toThrow(/binary/);
  });
});

describe('evaluate (multiclass)', () => {
  const classes = ['a', 'b', 'c'];
  const multi = {
    yTrue: ['a', 'b', 'c', 'a'],
    scores: [
      { a: 0.6, b: 0.3, c: 0.1 },
      { a: 0.2, b: 0.5, c: 0.3 },
      { a: 0.3, b: 0.4, c: 0.3 },
      { a: 0.4, b: 0.4, c: 0.2 }, // tie a/b → the earlier class, a
    ],
    classes,
  };
  const report = evaluate(multi);

  it('uses argmax with ties to the earlier class', () => {
    expect(report.confusionMatrix.counts).toEqual([
      [2, 0, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
    expect(report.accuracy).toBeCloseTo(0.75, 12);
    expect(report.positiveClass).toBeNull();
  });

  it('macro one-vs-rest AUC and multiclass Brier match hand computation', () => {
    // a: pos {.6,.4} > neg {.2,.3} → 1; b: pos .5 > {.3,.4,.4} → 1; c: pos .3 vs {.1,.3,.2} → 2.5/3.
    expect(report.rocAuc).toBeCloseTo((1 + 1 + 2.5 / 3) / 3, 12);
    // (.16+.09+.01) + (.04+.25+.09) + (.09+.16+.49) + (.36+.16+.04) = 1.94
    expect(report.brier).toBeCloseTo(1.94 / 4, 12);
    expect(report.logLoss).toBeCloseTo(
      -(Math.log(0.6) + Math.log(0.5) + Math.log(0.3) + Math.log(0.4)) / 4,
      12,
    );
    // c: never predicted → precision 0, recall 0; macro F1 = (a: 1, b: 2/3, c: 0) / 3.
    expect(report.macroF1).toBeCloseTo((1 + 2 / 3 + 0) / 3, 12);
  });

  it('top-label ECE for multiclass', () => {
    // Confidence/correct: .6 ✓, .5 ✓, .4 ✗, .4 ✓ → bins: [.6]: |.6-1|=.4; [.5]: .5; [.4]: |.4-.5|=.1 (2 rows).
    expect(report.ece).toBeCloseTo((0.4 + 0.5 + 2 * 0.1) / 4, 12);
  });

  it('excludes classes absent from yTrue from macro averages', () => {
    const r = evaluate({ ...multi, yTrue: ['a', 'b', 'b', 'a'] });
    expect(r.perClass.find((c) => c.class === 'c')?.support).toBe(0);
    // a: P=1 R=1; b: predicted twice (rows 2,3), both b → P=1, R=1.
    expect(r.macroF1).toBeCloseTo(1, 12);
  });
});

describe('confusionMatrix, calibration, slices', () => {
  it('confusionMatrix rejects unknown labels', () => {
    expect(confusionMatrix(['a', 'b'], ['b', 'b'], ['a', 'b']).counts).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(() => confusionMatrix(['a'], ['x'], ['a', 'b'])).toThrow(/"x"/);
  });

  it('calibration puts p = 1 in the last bin', () => {
    const { ece, bins } = calibration([1, 1], [true, true]);
    expect(bins[9].count).toBe(2);
    expect(ece).toBe(0);
  });

  it('metricsBySlice groups by every slice key', () => {
    const sliced = metricsBySlice(
      yTrue.map((y, i) => ({
        yTrue: y,
        scores: scores[i],
        slices: { country: i < 3 ? 'DE' : 'FR', all: 'x' },
      })),
      { classes: ['stay', 'churn'], positiveClass: 'churn' },
    );
    expect(Object.keys(sliced)).toEqual(['all', 'country']);
    expect(sliced.country.DE.n).toBe(3);
    expect(sliced.country.FR).toMatchObject({ n: 2, accuracy: 0.5, rocAuc: null });
    // DE: stay .1, stay .4, churn .35 → pairs (.35>.1)=1, (.35<.4)=0 → 0.5.
    expect(sliced.country.DE.rocAuc).toBeCloseTo(0.5, 12);
    expect(sliced.all.x.rocAuc).toBeCloseTo(0.75, 12);
    const report = evaluate({
      yTrue,
      scores,
      classes: ['stay', 'churn'],
      slices: yTrue.map((_, i) => (i < 3 ? { country: 'DE' } : undefined)),
    });
    expect(Object.keys(report.slices?.country ?? {})).toEqual(['DE']);
  });
});

describe('chooseThreshold', () => {
  // P/R by threshold: .9 1/.2 | .8 1/.4 | .7 .667/.4 | .6 .75/.6 | .55 .8/.8 | .5 .667/.8 |
  //                   .4 .571/.8 | .3 .625/1 | .2 .556/1 | .1 .5/1
  const s = [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1];
  const labels = [1, 1, 0, 1, 1, 0, 0, 1, 0, 0].map((v) => v === 1);

  it('maximises recall at a precision floor', () => {
    expect(chooseThreshold(s, labels, { targetPrecision: 0.8 })).toEqual({
      threshold: 0.55,
      precision: 0.8,
      recall: 0.8,
      predictedPositives: 5,
    });
    expect(chooseThreshold(s, labels, { targetPrecision: 0.6 })?.threshold).toBe(0.3);
    expect(chooseThreshold(s, labels, { targetPrecision: 1 })?.threshold).toBe(0.8);
  });

  it('maximises precision at a recall floor', () => {
    expect(chooseThreshold(s, labels, { targetRecall: 0.6 })).toMatchObject({
      threshold: 0.6,
      precision: 0.75,
    });
    expect(chooseThreshold(s, labels, { targetRecall: 1 })?.threshold).toBe(0.3);
  });

  it('returns null when the target is unreachable', () => {
    expect(chooseThreshold([0.9, 0.8], [false, true], { targetPrecision: 0.9 })).toBeNull();
    expect(chooseThreshold([0.9, 0.8], [false, false], { targetRecall: 0.5 })).toBeNull();
  });

  it('treats tied scores as one threshold', () => {
    // Both 0.7s enter together: P = 1/2 at recall 1; no threshold reaches precision 0.6.
    expect(chooseThreshold([0.7, 0.7], [true, false], { targetPrecision: 0.6 })).toBeNull();
  });
});
