import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { trainArtifact } from '../../src/ml/model';
import { ModelRegistry } from '../../src/storage/model-registry';
import { rolloutStatus } from '../../src/workflows/messages';
import type { RolloutInput } from '../../src/workflows/rollout';
import { ROLLOUT_WORKFLOW_TYPE, rolloutWorkflowId } from '../../src/workflows/rollout-ids';
import { runCli } from '../support/cli';
import { tempFileStore, testTemporalAddress, withInstalledWorker } from '../support/temporal';

/**
 * Issue 16: a rollout of a version the gate refused, or of a version that does not exist, is refused
 * before anything is served, by the CLI (reason and exit code at once) and by the workflow itself (for
 * any Temporal client), and `rollout status` of such a failed workflow says so instead of "starting".
 */
const GATE_REASON = 'f1 0.612 < champion 0.700 - 0.010 on 1800 test rows';

async function setup() {
  const { store } = tempFileStore();
  const model = `m${randomUUID().slice(0, 8)}`;
  const registry = new ModelRegistry(store);
  const rows = Array.from({ length: 200 }, (_, i) => ({
    features: { x: i % 10, y: (i * 7) % 13 },
    label: i % 10 > 4 ? 'yes' : 'no',
  }));
  const artifact = trainArtifact({ rows, positiveClass: 'yes', options: { seed: 1 } });
  const decision = (blessed: boolean) => ({
    blessed,
    reasons: [blessed ? 'better than the champion' : GATE_REASON],
    comparedTo: null,
    testSetKey: null,
    decidedAt: '2026-06-01T00:00:00.000Z',
    checks: [],
  });
  for (const [version, blessed, day] of [
    ['v1', true, '01'],
    ['v2', false, '02'],
  ] as const) {
    await registry.registerVersion({
      modelId: model,
      version,
      artifact: { ...artifact, threshold: blessed ? 0.5 : 0.6 },
      manifest: {
        createdAt: `2026-06-${day}T00:00:00.000Z`,
        trainer: 'logistic-adam',
        trainingData: [],
        codeVersion: 'test',
        blessing: decision(blessed),
      },
    });
  }
  await registry.promote({ modelId: model, version: 'v1', actor: 'test', reason: 'setup' });
  return { store, model, registry };
}

test('the CLI refuses an unknown or unblessed version with the reason and exit code 3, starting nothing', async () => {
  const { store, model, registry } = await setup();
  await withInstalledWorker(store, async ({ client, taskQueue }) => {
    const env = {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      LOOPKEEPER_TASK_QUEUE: taskQueue,
      LOOPKEEPER_STORE: store.uri,
    };

    const nope = await runCli(env, 'rollout', 'start', '--model', model, '--version', 'v-nope');
    expect(nope.code).toBe(3);
    expect(nope.err).toContain(`model ${model} has no version v-nope`);
    expect(nope.out).not.toMatch(/started/);

    const refused = await runCli(env, 'rollout', 'start', '--model', model, '--version', 'v2');
    expect(refused.code).toBe(3);
    expect(refused.err).toContain(`the promotion gate refused it: ${GATE_REASON}`);
    expect(refused.err).toContain('--force-unblessed --reason');

    const noReason = await runCli(
      env,
      'rollout',
      'start',
      '--model',
      model,
      '--version',
      'v2',
      '--force-unblessed',
    );
    expect(noReason.code).toBe(64);
    expect(noReason.err).toMatch(/--force-unblessed needs --reason/);

    // Nothing was started and nothing was served.
    await expect(client.workflow.getHandle(rolloutWorkflowId(model)).describe()).rejects.toThrow();
    expect((await registry.getRollout(model)).etag).toBeNull();
  });
});

test('a plain Temporal client gets a failed workflow of type UnknownVersion / CandidateNotBlessed, and status says failed', async () => {
  const { store, model, registry } = await setup();
  await withInstalledWorker(store, async ({ client, taskQueue }) => {
    const env = {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      LOOPKEEPER_TASK_QUEUE: taskQueue,
      LOOPKEEPER_STORE: store.uri,
    };
    const run = async (candidateVersion: string) => {
      const input: RolloutInput = { modelId: model, candidateVersion };
      const handle = await client.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: rolloutWorkflowId(model),
        args: [input],
      });
      const err = await handle.result().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      return { handle, failure: cause as ApplicationFailure };
    };

    const unknown = await run('v-nope');
    expect(unknown.failure.type).toBe('UnknownVersion');
    expect(unknown.failure.nonRetryable).toBe(true);
    expect(unknown.failure.message).toContain(`model ${model} has no version v-nope`);
    const st = await unknown.handle.query(rolloutStatus);
    expect(st.phase).toBe('refused');
    expect(st.decisions.map((d) => d.decision)).toEqual(['start', 'refused']);

    const status = await runCli(env, 'rollout', 'status', '--model', model);
    expect(status.err).toBe('');
    expect(status.code).toBe(0);
    expect(status.out).not.toMatch(/starting/);
    expect(status.out).toMatch(/phase: +failed \(workflow FAILED/);
    expect(status.out).toContain(
      `UnknownVersion: refusing to roll out v-nope: model ${model} has no version v-nope`,
    );

    const unblessed = await run('v2');
    expect(unblessed.failure.type).toBe('CandidateNotBlessed');
    expect(unblessed.failure.message).toContain(GATE_REASON);
    // Refused before the first registry write: serving never saw v2.
    expect((await registry.getRollout(model)).etag).toBeNull();
    expect((await registry.aliasHistory(model)).filter((e) => e.to === 'v2')).toEqual([]);
  });
});
