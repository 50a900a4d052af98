import { validatePolicyFile } from '../../src/policy/model-policy';

describe('policy.trainer', () => {
  test('absent: no trainer section (the built-in trainer by class count), as before', () => {
    const r = validatePolicyFile({});
    expect(r.ok && r.data.trainer).toBeUndefined();
  });

  test('external: task queue required, algorithm and params defaulted', () => {
    const r = validatePolicyFile({ trainer: { kind: 'external', taskQueue: 'loopkeeper-python' } });
    expect(r).toEqual({
      ok: true,
      data: expect.objectContaining({
        trainer: {
          kind: 'external',
          taskQueue: 'loopkeeper-python',
          algorithm: 'lightgbm',
          params: {},
          timeoutMinutes: 120,
        },
      }),
    });
    const missing = validatePolicyFile({ trainer: { kind: 'external' } });
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.problems.join('\n')).toMatch(/trainer\.taskQueue/);
  });

  test('a misspelt key is named with its path and the closest known key', () => {
    const r = validatePolicyFile({ trainer: { kind: 'external', taskQeue: 'q' } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toContain(
      'trainer.taskQeue: unknown key "taskQeue" (did you mean "taskQueue"?)',
    );
    const builtin = validatePolicyFile({ trainer: { kind: 'builtin-logistic', params: { l2x: 0.1 } } });
    expect(!builtin.ok && builtin.problems).toContain(
      'trainer.params.l2x: unknown key "l2x" (did you mean "l2"?)',
    );
  });

  test('an unknown kind is refused', () => {
    const r = validatePolicyFile({ trainer: { kind: 'lightgbm', taskQueue: 'q' } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems.join('\n')).toMatch(/^trainer\.kind: /m);
  });

  test('built-in params name only what they change (no defaults pinned over retrain.l2)', () => {
    const r = validatePolicyFile({ trainer: { kind: 'builtin-softmax', params: { maxIterations: 50 } } });
    expect(r.ok && r.data.trainer).toEqual({ kind: 'builtin-softmax', params: { maxIterations: 50 } });
    const bad = validatePolicyFile({ trainer: { kind: 'builtin-logistic', params: { solver: 'sgd' } } });
    expect(!bad.ok && bad.problems.join('\n')).toMatch(/trainer\.params\.solver/);
  });

  test('external params are scalars handed over as they are', () => {
    const r = validatePolicyFile({
      trainer: {
        kind: 'external',
        taskQueue: 'q',
        params: { numLeaves: 31, objective: 'binary', gpu: false },
      },
    });
    expect(r.ok && r.data.trainer).toMatchObject({
      params: { numLeaves: 31, objective: 'binary', gpu: false },
    });
    const nested = validatePolicyFile({
      trainer: { kind: 'external', taskQueue: 'q', params: { a: { b: 1 } } },
    });
    expect(nested.ok).toBe(false);
  });
});
