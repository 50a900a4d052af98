import type { DriftSummary } from '../activities/compute-drift';
import type { IngestResult } from '../activities/ingest-window';
import type { MineAndRouteResult } from '../activities/mine-and-route';
import type { RefreshTestSetResult } from '../activities/refresh-test-set';
import type { RefreshChallengeSetResult } from '../activities/refresh-challenge-set';
import type { RetrainDecision } from '../policy/feedback-caps';
import type { Window } from '../schemas/window';
import type { RetrainResult } from './retrain';

/** The stages of a continuous-learning cycle, in order. */
export const cycleStages = [
  'policy',
  'ingest',
  'summary',
  'drift',
  'mine-route',
  'test-set',
  'challenge-set',
  'caps',
  'retrain',
  'rollout',
] as const;
export type CycleStage = (typeof cycleStages)[number];

export type StageState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/** What `status` returns: small things only (ids, counts, keys), never data. */
export interface CycleStatus {
  cycleId: string;
  modelId: string;
  window: Window;
  /** Cycle time: the window's end. Caps, ageing and blessings are decided against it. */
  asOf: string;
  state: 'running' | 'completed' | 'failed' | 'skipped';
  stage: CycleStage | 'done';
  stages: Record<CycleStage, { state: StageState; detail?: string }>;
  ingest?: Omit<IngestResult, 'joinedKeys'> & { joinedParts: number };
  summary?: {
    rows: number;
    labelled: number;
    classBalance: Record<string, number>;
    misclassified: number;
    misclassificationRate: number;
  };
  policySource?: 'stored' | 'defaults';
  champion?: string | null;
  routing?: MineAndRouteResult;
  testSet?: RefreshTestSetResult;
  challengeSet?: RefreshChallengeSetResult;
  caps?: RetrainDecision & { newLabelledRows: number };
  retrain?: RetrainResult;
  rollout?: { workflowId: string; outcome: string; reason: string };
  /** Drift and skew of the cycle's window against the champion's reference (reports in the store). */
  drift?: DriftSummary;
  messages: string[];
}

/** A fresh status with every stage pending. */
export function initialStatus(cycleId: string, modelId: string, window: Window): CycleStatus {
  const stages = Object.fromEntries(
    cycleStages.map((s) => [s, { state: 'pending' }]),
  ) as CycleStatus['stages'];
  return {
    cycleId,
    modelId,
    window,
    asOf: `${window.to}T00:00:00.000Z`,
    state: 'running',
    stage: cycleStages[0],
    stages,
    messages: [],
  };
}
