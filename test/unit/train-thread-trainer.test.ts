import { trainOnThisThread } from '../../src/activities/train-thread';
import { createRng } from '../../src/ml/rng';

/** Timed rows with `k` classes. */
function rows(k: number) {
  const rng = createRng(k);
  return Array.from({ length: 300 }, (_, i) => {
    const x = rng.normal();
    const label = k === 2 ? (x > 0 ? 'yes' : 'no') : ['a', 'b', 'c'][x < -0.5 ? 0 : x < 0.5 ? 1 : 2];
    return { timestamp: new Date(Date.UTC(2026, 5, 1) + i * 60_000).toISOString(), features: { x }, label };
  });
}

describe('policy.trainer picks the built-in trainer on the training thread', () => {
  test('builtin-softmax on two classes trains a softmax model; absent picks logistic', () => {
    const softmax = trainOnThisThread({ rows: rows(2), options: { seed: 1 }, builtin: 'builtin-softmax' });
    const auto = trainOnThisThread({ rows: rows(2), options: { seed: 1 } });
    expect(softmax.ok && softmax.trained.artifact.model.kind).toBe('softmax');
    expect(auto.ok && auto.trained.artifact.model.kind).toBe('logistic');
  });

  test('builtin-logistic on three classes is a TrainingDataError naming the reason', () => {
    const r = trainOnThisThread({ rows: rows(3), options: { seed: 1 }, builtin: 'builtin-logistic' });
    expect(r).toEqual({
      ok: false,
      error: 'TrainingDataError',
      message: expect.stringMatching(/exactly 2 classes/),
    });
  });
});
