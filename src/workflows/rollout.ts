import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AnalyseRolloutStepInput, RolloutAnalysis } from '../activities/analyse-rollout-step';
import type { RolloutCandidateCheck } from '../activities/check-rollout-candidate';
import type { SetRolloutStateInput } from '../activities/set-rollout-state';
import { RolloutPlanSchema } from '../policy/rollout-plan';
import type { RolloutPlanInput } from '../policy/rollout-plan';
import { abortRollout, approveRollout, pauseRollout, resumeRollout, rolloutStatus } from './messages';
import { observe } from './observe';
import { metricCatalog } from './metric-catalog';
import { rolloutOutcome, rolloutSummary } from './summaries';

export { RolloutPlanSchema } from '../policy/rollout-plan';
export type { RolloutPlan, RolloutPlanInput } from '../policy/rollout-plan';

/** Input of {@link rolloutModel}. */
export interface RolloutInput {
  modelId: string;
  candidateVersion: string;
  config?: RolloutPlanInput;
  /**
   * Roll out a registered version the promotion gate did not bless. Without it such a version is
   * refused (CandidateNotBlessed) before anything is served; with it the override is recorded in the
   * rollout's decisions and status, and in the alias audit log when the candidate is promoted or
   * rolled back.
   */
  forceUnblessed?: { actor: string; reason: string };
}

/** Payload of approveRollout / abortRollout / pauseRollout / resumeRollout. */
export interface RolloutSignal {
  actor: string;
  reason: string;
}

export type RolloutPhase =
  | 'starting'
  | 'shadow'
  | 'canary'
  | 'awaiting-approval'
  | 'promoting'
  | 'rolling-back'
  | 'promoted'
  | 'rolled-back'
  | 'aborted'
  /** The candidate was refused before anything was served (the workflow failed with the reason). */
  | 'refused'
  /** The rollout failed before anything was served (the workflow failed with the reason). */
  | 'failed';

export type RolloutOutcome = 'promoted' | 'rolled-back' | 'aborted';

/** One decision, automatic or human, in order. */
export interface RolloutDecision {
  at: string;
  phase: RolloutPhase;
  weightPercent: number;
  /** e.g. start, shadow, step, continue, pause, approved, abort, rollback, promote, paused, resumed. */
  decision: string;
  actor: string;
  reason: string;
}

/** The `rolloutStatus` query's answer. */
export interface RolloutStatus {
  workflowId: string;
  modelId: string;
  candidateVersion: string;
  championAtStart: string | null;
  /** What the start check found: blessing, the gate's reasons, an override, the offline agreement. */
  candidate: RolloutCandidateCheck | null;
  phase: RolloutPhase;
  /** Index into `steps` of the current canary step; -1 before the canary. */
  stepIndex: number;
  weightPercent: number;
  steps: number[];
  /** Set while a `pauseRollout` holds the rollout. */
  paused: (RolloutSignal & { at: string }) | null;
  /** Set while the rollout waits for `approveRollout` / `abortRollout`. */
  awaitingApproval: { since: string; reason: string; deadline: string } | null;
  lastAnalysis: RolloutAnalysis | null;
  analyses: number;
  decisions: RolloutDecision[];
  outcome: RolloutOutcome | null;
  reason: string | null;
}

/** What the workflow returns. */
export interface RolloutResult {
  outcome: RolloutOutcome;
  reason: string;
  status: RolloutStatus;
}

const { analyseRolloutStep } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: ['ZodError'] },
});
/** Refusals of the start check: the workflow fails with the same type, nothing retried. */
const REFUSALS = ['UnknownVersion', 'CandidateNotBlessed', 'NoChampion', 'AlreadyChampion'];
const { checkRolloutCandidate } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['ZodError', ...REFUSALS],
  },
});
const { setRolloutState } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [
      'ZodError',
      'NoChampion',
      'AlreadyChampion',
      'NotBlessedError',
      'VersionNotFoundError',
    ],
  },
});

function signalOf(payload: unknown): RolloutSignal {
  const p = (payload ?? {}) as Partial<Record<keyof RolloutSignal, unknown>>;
  return {
    actor: typeof p.actor === 'string' && p.actor.trim() ? p.actor : 'unknown',
    reason: typeof p.reason === 'string' && p.reason.trim() ? p.reason : 'no reason given',
  };
}

/**
 * One line naming what an analysis found: the degraded measures, or every measure when none degraded,
 * each with its values, n and verdict.
 */
export function describeAnalysis(a: RolloutAnalysis): string {
  const where = a.phase === 'shadow' ? 'shadow' : `canary ${a.weightPercent}%`;
  const shown = a.degradations.length > 0 ? a.degradations : a.measures;
  const lines = shown.map((d) => `${d.measure}: ${d.detail}`).join('; ');
  return `${where} analysis ${a.verdict}${lines ? ` (${lines})` : ''}`;
}

function rootFailure(err: unknown): unknown {
  let e = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  return e;
}

function rootMessage(err: unknown): string {
  const e = rootFailure(err);
  return e instanceof Error ? e.message : String(e);
}

/**
 * Rolls a candidate out: shadow (logged only) until it has run `shadow.minDurationMs` and scored
 * `shadow.minRequests`, then canary steps, each held `stepIntervalMs` and `minSamplesPerStep` and
 * analysed against the champion. `rollback` (≥ 10 % worse, or the candidate failed to load) rolls back
 * at once without asking anyone; `pause` (3-10 %) waits for `approveRollout` or `abortRollout` (the
 * approval timeout aborts); past 100 % the candidate is promoted and the old champion becomes
 * `previous`. Rollback is a configuration switch (rollout.json + aliases): old models stay loaded.
 */
export async function rolloutModel(input: RolloutInput): Promise<RolloutResult> {
  const plan = RolloutPlanSchema.parse(input.config ?? {});
  const { modelId, candidateVersion } = input;
  const workflowId = workflowInfo().workflowId;
  const me = `rollout ${workflowId}`;
  const salt = `${workflowId}:${candidateVersion}`;
  const analysisEveryMs = plan.analysisIntervalMs ?? Math.min(plan.stepIntervalMs, 60_000);
  const iso = () => new Date(Date.now()).toISOString();

  const st: RolloutStatus = {
    workflowId,
    modelId,
    candidateVersion,
    championAtStart: null,
    candidate: null,
    phase: 'starting',
    stepIndex: -1,
    weightPercent: 0,
    steps: plan.steps,
    paused: null,
    awaitingApproval: null,
    lastAnalysis: null,
    analyses: 0,
    decisions: [],
    outcome: null,
    reason: null,
  };
  const signals: { abort: RolloutSignal | null; approval: RolloutSignal | null } = {
    abort: null,
    approval: null,
  };
  const decide = (decision: string, actor: string, reason: string) =>
    st.decisions.push({
      at: iso(),
      phase: st.phase,
      weightPercent: st.weightPercent,
      decision,
      actor,
      reason,
    });

  setHandler(rolloutStatus, () => st);
  const obs = observe(modelId, 'rollout');
  /** Search attribute and summary line follow the status (a human pause shows at the next analysis). */
  const show = (final = false): void => {
    obs.outcome(rolloutOutcome(st));
    obs.summary(rolloutSummary(st), final);
  };
  setHandler(approveRollout, (payload: unknown) => {
    const s = signalOf(payload);
    if (st.awaitingApproval && !signals.approval) {
      signals.approval = s;
      decide('approved', s.actor, s.reason);
    } else {
      decide('approve-ignored', s.actor, `${s.reason} (nothing was awaiting approval)`);
    }
  });
  setHandler(abortRollout, (payload: unknown) => {
    const s = signalOf(payload);
    signals.abort ??= s;
    decide('abort', s.actor, s.reason);
  });
  setHandler(pauseRollout, (payload: unknown) => {
    const s = signalOf(payload);
    st.paused = { ...s, at: iso() };
    decide('paused', s.actor, s.reason);
  });
  setHandler(resumeRollout, (payload: unknown) => {
    const s = signalOf(payload);
    st.paused = null;
    decide('resumed', s.actor, s.reason);
  });

  /** Appended to every registry change of a forced rollout, so the audit log says so. */
  let forcedNote = '';
  const apply = (action: SetRolloutStateInput['action'], reason: string) =>
    setRolloutState({ modelId, candidateVersion, workflowId, action, reason: reason + forcedNote });

  let baseline: AnalyseRolloutStepInput['baseline'];

  /** Holds the current phase for at least `minMs` and `minSamples` candidate requests, analysing. */
  async function hold(minMs: number, minSamples: number): Promise<RolloutAnalysis | 'aborted'> {
    const from = iso();
    const started = Date.now();
    const phase = st.phase === 'shadow' ? 'shadow' : 'canary';
    for (;;) {
      if (await condition(() => signals.abort !== null, analysisEveryMs)) return 'aborted';
      const analysis = await analyseRolloutStep({
        modelId,
        candidateVersion,
        phase,
        weightPercent: st.weightPercent,
        from,
        to: iso(),
        analysis: plan.analysis,
        minLabelledRows: plan.minLabelledRows,
        baseline,
        offlineAgreement: st.candidate?.offlineAgreement ?? null,
      });
      st.lastAnalysis = analysis;
      st.analyses++;
      show();
      if (analysis.verdict === 'rollback') return analysis;
      // Each analysis covers the phase's window from its start, so the last one before a step switch is
      // the whole window of that step: the control at 100 %, where the champion serves nobody.
      if (!analysis.usedBaseline && analysis.control.requests >= plan.analysis.minRequests) {
        baseline = {
          ...analysis.control,
          metrics: undefined,
          from: analysis.from,
          to: analysis.to,
          weightPercent: analysis.weightPercent,
        };
      }
      if (st.paused) continue;
      const elapsed = Date.now() - started;
      const enough =
        elapsed >= minMs && analysis.candidate.requests >= minSamples && analysis.verdict !== 'wait';
      if (enough || elapsed >= plan.maxStepWaitMs) return analysis;
    }
  }

  /** Waits for a human; the approval timeout aborts. */
  async function askHuman(why: string): Promise<'approved' | 'aborted'> {
    const phase = st.phase;
    st.phase = 'awaiting-approval';
    signals.approval = null;
    const since = Date.now();
    st.awaitingApproval = {
      since: iso(),
      reason: why,
      deadline: new Date(since + plan.approvalTimeoutMs).toISOString(),
    };
    decide('pause', me, why);
    show();
    obs.count(metricCatalog.rolloutPauses, 1);
    const note = await obs.alert({
      event: 'rollout-paused',
      occurrence: `${st.stepIndex}-${st.decisions.length}`,
      text: `rollout of ${candidateVersion} paused at ${st.weightPercent}% for approval: ${why} (loopkeeper rollout approve|abort --model ${modelId})`,
      details: {
        workflowId,
        weightPercent: st.weightPercent,
        reason: why,
        deadline: st.awaitingApproval.deadline,
      },
    });
    if (note) decide('alert-failed', me, note);
    const answered = await condition(
      () => signals.approval !== null || signals.abort !== null,
      plan.approvalTimeoutMs,
    );
    st.awaitingApproval = null;
    st.phase = phase;
    if (!answered) {
      signals.abort = { actor: me, reason: `no approval within ${plan.approvalTimeoutMs} ms after: ${why}` };
      decide('approval-timeout', me, signals.abort.reason);
    }
    return signals.abort ? 'aborted' : 'approved';
  }

  async function finish(outcome: RolloutOutcome, reason: string): Promise<RolloutResult> {
    if (outcome === 'promoted') {
      st.phase = 'promoting';
      decide('promote', me, reason);
      const forced = st.candidate?.forced;
      await apply(
        forced
          ? { kind: 'promote', force: { reason: `${forced.reason} (--force-unblessed by ${forced.actor})` } }
          : { kind: 'promote' },
        reason,
      );
    } else {
      st.phase = 'rolling-back';
      decide('rollback', me, reason);
      await apply({ kind: 'rollback' }, reason);
    }
    st.phase = outcome;
    st.outcome = outcome;
    st.reason = reason;
    show(true);
    obs.count(metricCatalog.rollouts, 1, { outcome });
    if (outcome !== 'promoted') {
      obs.count(metricCatalog.rollbacks, 1, { outcome });
      const note = await CancellationScope.nonCancellable(() =>
        obs.alert({
          event: 'rollout-rolled-back',
          text: `rollout of ${candidateVersion} ${outcome} at ${st.weightPercent}%: ${reason}`,
          details: {
            workflowId,
            outcome,
            weightPercent: st.weightPercent,
            reason,
            champion: st.championAtStart,
          },
        }),
      );
      if (note) decide('alert-failed', me, note);
    }
    return { outcome, reason, status: st };
  }

  const abortReason = () => `aborted by ${signals.abort?.actor}: ${signals.abort?.reason}`;

  /** Turns an analysis into the next move: proceed, or the rollout's end. */
  async function judge(result: RolloutAnalysis | 'aborted'): Promise<RolloutResult | undefined> {
    if (result === 'aborted') return finish('aborted', abortReason());
    const what = describeAnalysis(result);
    if (result.verdict === 'rollback') return finish('rolled-back', what);
    if (result.verdict === 'continue') {
      decide('continue', me, what);
      return undefined;
    }
    const why = result.verdict === 'wait' ? `not enough traffic to judge: ${result.notes.join('; ')}` : what;
    if ((await askHuman(why)) === 'aborted') return finish('aborted', abortReason());
    return undefined;
  }

  let started = false;
  try {
    decide('start', me, `roll out ${candidateVersion}: shadow, then canary ${plan.steps.join('-')}%`);
    try {
      st.candidate = await checkRolloutCandidate({
        modelId,
        candidateVersion,
        ...(input.forceUnblessed ? { forceUnblessed: input.forceUnblessed } : {}),
      });
    } catch (err) {
      const root = rootFailure(err);
      if (root instanceof ApplicationFailure && root.type && REFUSALS.includes(root.type)) {
        st.phase = 'refused';
        st.reason = root.message;
        decide('refused', me, root.message);
        // The refusal's own type, so a client sees e.g. CandidateNotBlessed as the workflow's failure.
        throw ApplicationFailure.nonRetryable(root.message, root.type);
      }
      throw err;
    }
    const forced = st.candidate.forced;
    if (forced) {
      const gate = st.candidate.gateReasons.join('; ') || 'no blessing recorded';
      forcedNote = ` [unblessed, rolled out by ${forced.actor} with --force-unblessed: ${forced.reason}]`;
      decide(
        'force-unblessed',
        forced.actor,
        `${candidateVersion} is not blessed (gate: ${gate}); rolled out anyway: ${forced.reason}`,
      );
    }
    const first = await apply(
      { kind: 'shadow', sampleShare: plan.shadow.sampleShare },
      `shadow ${candidateVersion} on ${plan.shadow.sampleShare * 100}% of requests`,
    );
    started = true;
    st.championAtStart = first.champion;
    st.phase = 'shadow';
    decide('shadow', me, `shadow on ${plan.shadow.sampleShare * 100}% of requests against ${first.champion}`);
    const ended = await judge(await hold(plan.shadow.minDurationMs, plan.shadow.minRequests));
    if (ended) return ended;

    for (let i = 0; i < plan.steps.length; i++) {
      const weight = plan.steps[i];
      st.phase = 'canary';
      st.stepIndex = i;
      st.weightPercent = weight;
      // The previous step's analysis describes other traffic: the status shows none until this step has one.
      st.lastAnalysis = null;
      const reason = `canary step ${i + 1}/${plan.steps.length}: ${weight}% of traffic`;
      await apply({ kind: 'canary', weightPercent: weight, salt }, reason);
      decide('step', me, reason);
      show();
      obs.count(metricCatalog.rolloutSteps, 1);
      const done = await judge(await hold(plan.stepIntervalMs, plan.minSamplesPerStep));
      if (done) return done;
    }
    return await finish('promoted', `canary passed every step (${plan.steps.join('-')}%)`);
  } catch (err) {
    if (!started) {
      if (st.phase !== 'refused') {
        st.phase = 'failed';
        st.reason = `rollout failed before anything was served: ${rootMessage(err)}`;
        decide('failed', me, st.reason);
      }
      show(true);
      throw err;
    }
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => finish('aborted', 'rollout workflow cancelled'));
      throw err;
    }
    if (st.outcome !== null) throw err;
    // Whatever broke, the safe state is the old champion serving alone.
    const reason = `rollout failed: ${rootMessage(err)}`;
    try {
      return await finish('rolled-back', reason);
    } catch (cleanup) {
      throw ApplicationFailure.nonRetryable(`${reason}; and the rollback failed: ${rootMessage(cleanup)}`);
    }
  }
}
