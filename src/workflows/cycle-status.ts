import type { IngestResult } from '../activities/ingest-window';
import type { Window } from '../schemas/window';

/** The stages of a continuous-learning cycle, in order. */
export const cycleStages = ['ingest', 'summary'] as const;
export type CycleStage = (typeof cycleStages)[number];

export type StageState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/** What `status` returns: small things only (ids, counts, keys), never data. */
export interface CycleStatus {
  cycleId: string;
  modelId: string;
  window: Window;
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
  messages: string[];
}

/** A fresh status with every stage pending. */
export function initialStatus(cycleId: string, modelId: string, window: Window): CycleStatus {
  const stages = Object.fromEntries(
    cycleStages.map((s) => [s, { state: 'pending' }]),
  ) as CycleStatus['stages'];
  return { cycleId, modelId, window, state: 'running', stage: cycleStages[0], stages, messages: [] };
}
