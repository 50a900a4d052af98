import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  executeChild,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CycleContext } from '../activities/load-cycle-context';
import type { StoreIdentity } from '../config/installation';
import { contextActivityOptions, driftActivityOptions, ingestActivityOptions } from './activity-options';
import { decideRetrain } from '../policy/feedback-caps';
import { addDays, dayOf, windowEndingAt } from '../schemas/window';
import type { Window } from '../schemas/window';
import { cycleStages, initialStatus } from './cycle-status';
import { fanOutDrift } from './drift-fan-out';
import type { CycleStage, CycleStatus } from './cycle-status';
import { status } from './messages';
import { observe } from './observe';
import { startSearchAttributes } from './search-attributes';
import { cycleOutcome, cycleSummary, windowLabel } from './summaries';
import { alertDrift, alertSkewBlock, capsHeld, countIngest, countRouting, retrained } from './cycle-observe';
import { retrainModel } from './retrain';
import { rolloutModel } from './rollout';
import { rolloutWorkflowId } from './rollout-ids';

/** Input of one continuous-learning cycle. */
export interface CycleInput {
  modelId: string;
  /** Explicit window; otherwise the `windowDays` days before `asOf` (default: today, workflow time). */
  window?: Window;
  asOf?: string;
  windowDays?: number;
  /** Set by a drift alert: waives the minimum-evidence cap (never the time caps). */
  driftTriggered?: boolean;
  /** Retrain despite a skew alert (recorded in the status with its reason). */
  overrideSkew?: { reason: string };
  /** The store this cycle is for: a worker on another store refuses it (`ForeignStore`, non-retryable). */
  store?: StoreIdentity;
}

const { ingestWindow, mineAndRoute, refreshTestSet, refreshChallengeSet } =
  proxyActivities<Activities>(ingestActivityOptions);
const { computeDrift } = proxyActivities<Activities>(driftActivityOptions);
const { loadCycleContext } = proxyActivities<Activities>(contextActivityOptions);

/** Resolves the cycle's window deterministically (workflow time, not the wall clock). */
export function resolveWindow(input: CycleInput): Window {
  if (input.window) return input.window;
  const asOf = input.asOf ?? dayOf(Date.now());
  return windowEndingAt(asOf, input.windowDays ?? 7);
}

/** The message of the error that actually stopped a stage (activity and child failures wrap it). */
function rootMessage(err: unknown): string {
  let e = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The continuous-learning cycle for one model and one window: policy (the store is this worker's, the
 * policy valid, before any data is read) → ingest → summary → drift/skew (hook) →
 * mine + route (auto-relabel / human review) → refresh the test set → feedback-loop caps → retrain
 * (child: train, evaluate against the champion, bless, register) → rollout (hook). Carries only ids,
 * counts and blob keys; the data stays in the store. Every stage's result is visible through `status`.
 */
export async function continuousLearningCycle(input: CycleInput): Promise<CycleStatus> {
  const window = resolveWindow(input);
  const cycleId = workflowInfo().workflowId;
  const { modelId } = input;
  const st = initialStatus(cycleId, modelId, window);
  setHandler(status, () => st);
  const obs = observe(modelId, 'cycle');
  obs.summary(`${modelId} ${windowLabel(window)}: running`);
  /** Outcome, summary line and notes once the cycle ends (alerts that failed are noted, never thrown). */
  const settle = (): void => {
    obs.outcome(cycleOutcome(st));
    obs.summary(cycleSummary(st), true);
  };
  const note = (n: string | null): void => {
    if (n) st.messages.push(n);
  };

  const begin = (stage: CycleStage): void => {
    st.stage = stage;
    st.stages[stage] = { state: 'running' };
    obs.summary(`${modelId} ${windowLabel(window)}: ${stage}`);
  };
  const finish = (stage: CycleStage, state: 'done' | 'skipped', detail?: string): void => {
    st.stages[stage] = { state, detail };
  };
  const skipRest = (from: CycleStage, detail: string): void => {
    for (const s of cycleStages.slice(cycleStages.indexOf(from)))
      if (st.stages[s].state === 'pending') finish(s, 'skipped', detail);
  };

  const loadPolicy = async (): Promise<CycleContext> => {
    begin('policy');
    const loaded = await loadCycleContext({ modelId, cycleId, store: input.store });
    st.policySource = loaded.policySource;
    st.champion = loaded.champion?.version ?? null;
    finish(
      'policy',
      'done',
      `${loaded.policySource === 'stored' ? `config/${modelId}/policy.json` : 'default policy'}; champion ${st.champion ?? 'none'}`,
    );
    return loaded;
  };

  try {
    // First, before reading any data: a bad policy or another installation's store fails here, at once.
    // Cycles started before this order (no patch marker in their history) keep loading it after summary.
    let early: CycleContext | undefined;
    if (patched('policy-stage-first')) early = await loadPolicy();

    begin('ingest');
    const ingest = await ingestWindow({ modelId, cycleId, window });
    const { joinedKeys, ...rest } = ingest;
    st.ingest = { ...rest, joinedParts: joinedKeys.length };
    st.messages.push(...ingest.warnings);
    countIngest(obs, ingest);
    finish(
      'ingest',
      'done',
      `${ingest.lines} lines, ${ingest.joinedRows} joined, ${ingest.badRows} quarantined`,
    );

    begin('summary');
    const s = ingest.summary;
    st.summary = {
      rows: s.predictions,
      labelled: s.labelled,
      classBalance: s.observedClasses,
      misclassified: s.misclassified,
      misclassificationRate: s.labelled ? s.misclassified / s.labelled : 0,
    };
    if (s.predictions === 0 && s.labelled === 0) {
      finish('summary', 'skipped', `empty window ${window.from}..${addDays(window.to, -1)}: no predictions`);
      skipRest('drift', 'empty window');
      st.state = 'skipped';
      st.stage = 'done';
      settle();
      return st;
    }
    finish('summary', 'done', `${s.labelled} labelled rows, ${s.misclassified} misclassified`);
    const ctx = early ?? (await loadPolicy());

    begin('drift');
    let skewBlock: string | null = null;
    try {
      const driftInput = {
        modelId,
        runId: cycleId,
        window,
        acceptedManifestKey: ingest.manifestKey,
        quarantinedRows: ingest.badRows,
      };
      // One activity per columnar partition, spread over the workers, then a reduce (issue 18).
      const drift =
        (patched('drift-partitions') ? await fanOutDrift(driftInput) : null) ??
        (await computeDrift(driftInput));
      st.drift = drift;
      const alerts = drift.skewFindings.filter((f) => f.severity === 'alert');
      // Skew alerts are shown first in the cycle status.
      st.messages.unshift(...alerts.map((f) => `skew alert: ${f.detail}`));
      const top = drift.topFeatures[0];
      finish(
        'drift',
        'done',
        `drift ${drift.level}${top ? ` (worst: ${top.feature} PSI ${top.psi === null ? '?' : top.psi.toFixed(3)})` : ''}; ` +
          `${alerts.length} skew alert(s) over ${drift.rows} rows; report ${drift.htmlKey}`,
      );
      // A drift-triggered cycle's alert was sent by the drift check that started it.
      if (drift.level === 'alert' && !input.driftTriggered)
        note(await alertDrift(obs, cycleId, window, drift));
      if (drift.blocksRetraining) {
        const what = alerts.map((f) => `${f.feature} ${f.check}`).join(', ') || 'see report';
        if (input.overrideSkew)
          st.messages.push(`skew alert overridden (${what}): ${input.overrideSkew.reason}`);
        else
          skewBlock = `skew alert: ${what}; retraining on skewed data would bake the bug in (override with overrideSkew)`;
      }
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure && cause.type === 'NoReferenceData')) throw err;
      finish('drift', 'skipped', cause.message);
    }

    begin('mine-route');
    if (s.labelled === 0) {
      finish('mine-route', 'skipped', 'no outcomes matured in this window');
    } else {
      const routing = await mineAndRoute({
        modelId,
        cycleId,
        joinedKeys,
        routing: ctx.policy.routing,
        seed: ctx.policy.seed,
        asOf: st.asOf,
      });
      st.routing = routing;
      const r = routing.routing.byRoute;
      countRouting(obs, routing);
      finish(
        'mine-route',
        'done',
        `${routing.candidates} candidates: ${r['auto-relabel'] ?? 0} auto-relabel, ${r['human-review'] ?? 0} human review, ${r.drop ?? 0} dropped` +
          (routing.review
            ? `; review tasks sent ${routing.review.sent} = ${routing.review.accepted} accepted + ${routing.review.duplicate} duplicate + ${routing.review.rejected} rejected` +
              (routing.review.rejected > 0
                ? ` (${Object.entries(routing.review.reasons)
                    .map(([k, n]) => `${k} ${n}`)
                    .join(', ')})`
                : '')
            : ''),
      );
    }

    begin('test-set');
    const testSet = await refreshTestSet({
      modelId,
      cycleId,
      joinedKeys,
      asOf: st.asOf,
      config: ctx.policy.testSet,
      seed: ctx.policy.seed,
    });
    st.testSet = testSet;
    if (testSet.refusal) st.messages.push(`test set not refreshed: ${testSet.refusal}`);
    finish(
      'test-set',
      testSet.refreshed ? 'done' : 'skipped',
      testSet.refreshed
        ? `${testSet.rows} rows (${testSet.added} new, ${testSet.droppedAged} aged out)`
        : (testSet.refusal ?? undefined),
    );

    begin('challenge-set');
    const challengeSet = await refreshChallengeSet({
      modelId,
      cycleId,
      joinedKeys,
      asOf: st.asOf,
      config: ctx.policy.challenge,
      rareSliceMinShare: ctx.policy.routing.rareSliceMinShare,
    });
    st.challengeSet = challengeSet;
    finish(
      'challenge-set',
      challengeSet.challengeSetKey ? 'done' : 'skipped',
      challengeSet.challengeSetKey
        ? `${challengeSet.rows} rows (${challengeSet.mined} mined now): ${Object.entries(
            challengeSet.byReason,
          )
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')}`
        : 'no rare or hard cases yet',
    );

    note(await obs.checkReviewBacklog());

    if (skewBlock) {
      skipRest('caps', skewBlock);
      st.messages.push(`retrain skipped: ${skewBlock}`);
      note(await alertSkewBlock(obs, cycleId, skewBlock, st.drift));
      st.state = 'completed';
      st.stage = 'done';
      settle();
      return st;
    }

    begin('caps');
    const newLabelledRows = ctx.labelledSinceLastRetrain + ingest.joinedRows;
    const decision = decideRetrain({
      now: st.asOf,
      history: ctx.retrainHistory,
      lastRetrainAt: ctx.lastRetrainAt,
      newLabelledRowsSinceLastRetrain: newLabelledRows,
      driftTriggered: input.driftTriggered ?? false,
      config: ctx.policy.caps,
    });
    st.caps = { ...decision, newLabelledRows };
    if (!decision.allowed) {
      const why = decision.firedCaps.map((c) => `${c.cap}: ${c.detail}`).join('; ');
      finish(
        'caps',
        'done',
        `retrain skipped (${why})${decision.nextAllowedAt ? `; next allowed at ${decision.nextAllowedAt}` : ''}`,
      );
      skipRest('retrain', 'feedback-loop cap fired');
      note(await capsHeld(obs, cycleId, decision, why, input.driftTriggered ?? false));
    } else {
      finish('caps', 'done', 'retrain allowed');
      begin('retrain');
      const retrain = await executeChild(retrainModel, {
        workflowId: `${cycleId}-retrain`,
        ...(obs.on
          ? {
              typedSearchAttributes: startSearchAttributes(modelId, 'retrain'),
              staticSummary: `${modelId} retrain for ${windowLabel(window)} (cycle ${cycleId})`,
            }
          : {}),
        args: [
          {
            modelId,
            cycleId,
            asOf: st.asOf,
            testSetKey: testSet.testSet?.dataKey ?? null,
            challengeSetKey: challengeSet.challengeSetKey,
            policy: ctx.policy,
          },
        ],
      });
      st.retrain = retrain;
      note(await retrained(obs, cycleId, retrain));
      finish(
        'retrain',
        'done',
        `${retrain.train.version} trained on ${retrain.train.trainingRows} rows (${(100 * retrain.train.feedback.share).toFixed(1)}% feedback); ` +
          (retrain.evaluation.blessed
            ? `blessed → ${retrain.registeredAs}`
            : `not blessed: ${retrain.evaluation.reasons.join('; ')}`),
      );
      begin('rollout');
      if (retrain.registeredAs === 'challenger' && ctx.policy.promotion === 'rollout') {
        // Shadow, then canary steps with analysis; rollback is automatic. One rollout per model at a time.
        try {
          const rollout = await executeChild(rolloutModel, {
            workflowId: rolloutWorkflowId(modelId),
            ...(obs.on
              ? {
                  typedSearchAttributes: startSearchAttributes(modelId, 'rollout'),
                  staticSummary: `${modelId} rollout of ${retrain.train.version} (cycle ${cycleId})`,
                }
              : {}),
            args: [{ modelId, candidateVersion: retrain.train.version, config: ctx.policy.rollout }],
          });
          st.rollout = {
            workflowId: rolloutWorkflowId(modelId),
            outcome: rollout.outcome,
            reason: rollout.reason,
          };
          finish('rollout', 'done', `${rollout.outcome}: ${rollout.reason}`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          finish(
            'rollout',
            'skipped',
            `a rollout of ${modelId} is already in progress (${rolloutWorkflowId(modelId)}); ${retrain.train.version} stays challenger`,
          );
        }
      } else {
        finish(
          'rollout',
          'skipped',
          retrain.registeredAs === 'champion'
            ? 'promoted directly (policy.promotion = promote)'
            : retrain.registeredAs === 'challenger'
              ? 'parked as challenger (policy.promotion = challenger-only)'
              : 'no blessed candidate to roll out',
        );
      }
    }
    st.state = 'completed';
    st.stage = 'done';
    settle();
    log.info('cycle finished', { cycleId, model: modelId, state: st.state });
    return st;
  } catch (err) {
    st.state = 'failed';
    const stage = st.stage as CycleStage;
    const detail = rootMessage(err);
    st.stages[stage] = { state: 'failed', detail };
    st.messages.push(`stage ${stage} failed: ${detail}`);
    settle();
    throw err;
  }
}
