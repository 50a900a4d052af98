import { ActivityFailure, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { addDays, dayOf, windowEndingAt } from '../schemas/window';
import type { Window } from '../schemas/window';
import { initialStatus } from './cycle-status';
import type { CycleStage, CycleStatus } from './cycle-status';
import { status } from './messages';

/** Input of one continuous-learning cycle. */
export interface CycleInput {
  modelId: string;
  /** Explicit window; otherwise the `windowDays` days before `asOf` (default: today, workflow time). */
  window?: Window;
  asOf?: string;
  windowDays?: number;
}

const { ingestWindow } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['UnknownModel', 'TooManyBadRows', 'ZodError'],
  },
});

/** Resolves the cycle's window deterministically (workflow time, not the wall clock). */
export function resolveWindow(input: CycleInput): Window {
  if (input.window) return input.window;
  const asOf = input.asOf ?? dayOf(Date.now());
  return windowEndingAt(asOf, input.windowDays ?? 7);
}

/**
 * The continuous-learning cycle for one model and one window: ingest → summary (later stages build on
 * these). Carries only ids, counts and blob keys; the data stays in the store.
 */
export async function continuousLearningCycle(input: CycleInput): Promise<CycleStatus> {
  const window = resolveWindow(input);
  const cycleId = workflowInfo().workflowId;
  const st = initialStatus(cycleId, input.modelId, window);
  setHandler(status, () => st);

  const begin = (stage: CycleStage): void => {
    st.stage = stage;
    st.stages[stage] = { state: 'running' };
  };
  const finish = (stage: CycleStage, state: 'done' | 'skipped', detail?: string): void => {
    st.stages[stage] = { state, detail };
  };

  try {
    begin('ingest');
    const ingest = await ingestWindow({ modelId: input.modelId, cycleId, window });
    const { joinedKeys, ...rest } = ingest;
    st.ingest = { ...rest, joinedParts: joinedKeys.length };
    st.messages.push(...ingest.warnings);
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
    if (s.predictions === 0) {
      finish('summary', 'skipped', `empty window ${window.from}..${addDays(window.to, -1)}: no predictions`);
      st.state = 'skipped';
    } else {
      finish('summary', 'done', `${s.labelled} labelled rows, ${s.misclassified} misclassified`);
      st.state = 'completed';
    }
    st.stage = 'done';
    log.info('cycle finished', { cycleId, state: st.state });
    return st;
  } catch (err) {
    st.state = 'failed';
    const stage = st.stage as CycleStage;
    // An activity failure wraps the step's own error: report the cause, which names what was wrong.
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const detail = cause instanceof Error ? cause.message : String(cause);
    st.stages[stage] = { state: 'failed', detail };
    st.messages.push(`stage ${stage} failed: ${detail}`);
    throw err;
  }
}
