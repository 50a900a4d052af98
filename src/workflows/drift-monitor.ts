import {
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import type { StoreIdentity } from '../config/installation';
import { cycleWorkflowId } from './cycle-ids';
import { driftActivityOptions } from './activity-options';
import type { DriftSummary } from '../activities/compute-drift';
import type { ReferenceSpec } from '../activities/build-reference-profile';
import { windowEndingAt } from '../schemas/window';
import type { Window } from '../schemas/window';
import { continuousLearningCycle, resolveWindow } from './cycle';
import { driftStatus } from './messages';
import { observe } from './observe';
import { metricCatalog } from './metric-catalog';
import { startSearchAttributes } from './search-attributes';
import { driftOutcome, driftSummaryLine, windowLabel } from './summaries';

/** Input of one drift/skew check (scheduled daily by a Temporal Schedule). */
export interface DriftMonitorInput {
  modelId: string;
  /** Explicit window; otherwise the `windowDays` days before `asOf` (default: today, workflow time). */
  window?: Window;
  asOf?: string;
  /** Default 1: yesterday. */
  windowDays?: number;
  /** Default: the champion's training data (the bootstrap history when there is no champion). */
  reference?: ReferenceSpec;
  /** Start a drift-triggered continuous-learning cycle on an alert (drift or skew). */
  triggerCycle?: boolean;
  /** Window of the triggered cycle, ending where the drift window ends (default 7 days). */
  cycleWindowDays?: number;
  /** The store this check is for; passed on to a triggered cycle, which refuses a foreign worker. */
  store?: StoreIdentity;
}

/** Why and which cycle a drift alert started (the cycle's own caps still decide whether it retrains). */
export interface DriftTrigger {
  workflowId: string;
  /** Null when a cycle with that id was already running (nothing new was started). */
  runId: string | null;
  window: Window;
  reason: string;
  alreadyRunning: boolean;
}

/** What `driftStatus` returns and the workflow's result. */
export interface DriftMonitorStatus {
  modelId: string;
  runId: string;
  window: Window;
  state: 'running' | 'completed' | 'failed';
  drift?: DriftSummary;
  /** Set when an alert started (or found) a cycle. */
  trigger?: DriftTrigger;
  /** Why no cycle was started despite an alert, or other notes. */
  messages: string[];
}

const { computeDrift } = proxyActivities<Activities>(driftActivityOptions);

/** The reason an alert gives for a cycle, or null when nothing alerted. */
export function alertReason(d: DriftSummary): string | null {
  const reasons: string[] = [];
  if (d.level === 'alert') {
    const worst = d.topFeatures
      .filter((f) => f.level === 'alert')
      .map((f) => `${f.feature} PSI ${f.psi === null ? '?' : f.psi.toFixed(3)}`);
    reasons.push(`drift alert: ${worst.join(', ') || 'prediction scores'}`);
  }
  if (d.skewAlert) {
    const first = d.skewFindings.find((f) => f.severity === 'alert');
    reasons.push(`skew alert: ${first ? `${first.feature} ${first.check}` : 'see report'}`);
  }
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/**
 * Daily drift and training-serving skew check of one model: computes drift for the window (reports in
 * the store), and on an alert (drift or skew) optionally starts a drift-triggered continuous-learning
 * cycle for the window ending the same day. The cycle is abandoned on close (it outlives this run) and
 * its caps still apply; a skew alert blocks its retrain unless overridden.
 */
export async function driftMonitor(input: DriftMonitorInput): Promise<DriftMonitorStatus> {
  const window = resolveWindow({
    modelId: input.modelId,
    window: input.window,
    asOf: input.asOf,
    windowDays: input.windowDays ?? 1,
  });
  const runId = workflowInfo().workflowId;
  const st: DriftMonitorStatus = { modelId: input.modelId, runId, window, state: 'running', messages: [] };
  setHandler(driftStatus, () => st);
  const obs = observe(input.modelId, 'drift');
  const show = (): void => {
    obs.outcome(driftOutcome(st));
    obs.summary(driftSummaryLine(st), true);
  };

  try {
    const drift = await computeDrift({ modelId: input.modelId, runId, window, reference: input.reference });
    st.drift = drift;
    const reason = alertReason(drift);
    if (reason) {
      obs.count(metricCatalog.driftAlerts, 1, { source: 'monitor' });
      const note = await obs.alert({
        event: 'drift-alert',
        text: `${reason} (${windowLabel(window)}, ${runId}); report ${drift.htmlKey}${input.triggerCycle ? '; a drift-triggered cycle starts' : ''}`,
        details: {
          level: drift.level,
          skewAlert: drift.skewAlert,
          topFeatures: drift.topFeatures,
          htmlKey: drift.htmlKey,
        },
      });
      if (note) st.messages.push(note);
    }
    if (reason && input.triggerCycle) {
      const cycleWindow = windowEndingAt(window.to, input.cycleWindowDays ?? 7);
      // The same id as `loopkeeper cycle run` uses for this window: never two cycles for one window.
      const workflowId = cycleWorkflowId(input.modelId, cycleWindow.from, cycleWindow.to);
      try {
        const child = await startChild(continuousLearningCycle, {
          workflowId,
          args: [
            {
              modelId: input.modelId,
              window: cycleWindow,
              driftTriggered: true,
              ...(input.store ? { store: input.store } : {}),
            },
          ],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          ...(obs.on
            ? {
                typedSearchAttributes: startSearchAttributes(input.modelId, 'cycle'),
                staticSummary: `${input.modelId} ${windowLabel(cycleWindow)}: drift-triggered cycle (${reason})`,
              }
            : {}),
        });
        st.trigger = {
          workflowId,
          runId: child.firstExecutionRunId,
          window: cycleWindow,
          reason,
          alreadyRunning: false,
        };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        st.trigger = { workflowId, runId: null, window: cycleWindow, reason, alreadyRunning: true };
        st.messages.push(`cycle ${workflowId} is already running; not started again`);
      }
    } else if (reason) {
      st.messages.push(`${reason} (triggerCycle is off: no cycle started)`);
    }
    st.state = 'completed';
    show();
    return st;
  } catch (err) {
    st.state = 'failed';
    st.messages.push(err instanceof Error ? err.message : String(err));
    show();
    throw err;
  }
}
