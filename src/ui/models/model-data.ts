import type { RolloutConfig, RolloutDoc } from '../../storage/registry-schemas';
import type { ReviewStats } from '../../schemas/review';
import type { CycleStatus } from '../../workflows/cycle-status';
import type { RolloutStatus } from '../../workflows/rollout';
import type { CycleVerdict } from './cycle-outcome';
import type { WeekEfficacy } from './efficacy';

/**
 * What the model pages show, loaded by `load-*.ts` (I/O) and drawn by `render-*.ts` (pure). Every part
 * that could not be read carries the one-line reason instead of its data, so a page always renders and
 * says what is missing rather than showing a blank.
 */

/** A part of a page that loaded, or the reason it did not. */
export type Loaded<T> = { ok: true; value: T } | { ok: false; error: string };

/** One cycle of the timeline. */
export interface CycleEntry {
  workflowId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  execution: string;
  startTime: string;
  closeTime: string | null;
  /** The cycle's own status (result or `status` query); null when it could not be read. */
  status: CycleStatus | null;
  verdict: CycleVerdict;
}

/** PSI per feature of one drift report (a cycle's or the drift monitor's). */
export interface DriftPoint {
  runId: string;
  window: { from: string; to: string };
  level: string;
  features: Array<{ feature: string; psi: number | null }>;
  /** Whether reports/{model}/{runId}/drift.html exists (the page links it). */
  hasHtml: boolean;
}

/** Production precision/recall per week against the offline precision. */
export interface EfficacyView {
  positiveClass: string;
  weeks: WeekEfficacy[];
  /** Cycles whose joined data was read. */
  cycles: number;
}

/** The model's rollout: the workflow's status and what serving is told (rollout.json). */
export interface RolloutView {
  workflowId: string;
  /** Execution status of the rollout workflow, null when the model never had one. */
  execution: string | null;
  status: RolloutStatus | null;
  /** Why the status is missing although a workflow exists (a failure, an unanswered query). */
  note: string | null;
  config: RolloutConfig;
  doc: Pick<RolloutDoc, 'updatedAt' | 'updatedBy' | 'reason'> | null;
}

/** The review queue's depth. */
export type QueueDepth = Pick<
  ReviewStats,
  'pending' | 'claimed' | 'backlog' | 'escalated' | 'expired' | 'oldestPendingAgeMs' | 'done'
>;

/** The model's cycle schedule. */
export interface ScheduleView {
  scheduleId: string;
  exists: boolean;
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  running: string[];
}

/** A registered version, as the serving table lists it. */
export interface VersionRow {
  version: string;
  createdAt: string;
  blessed: boolean | null;
  offlinePrecision: number | null;
  /** Aliases and rollout roles pointing at it. */
  roles: string[];
}

/** Everything `/models/:id` shows. */
export interface ModelPageData {
  modelId: string;
  /** When the page was loaded (ISO). */
  loadedAt: string;
  aliases: Loaded<Record<string, string>>;
  versions: Loaded<VersionRow[]>;
  rollout: Loaded<RolloutView>;
  cycles: Loaded<CycleEntry[]>;
  drift: Loaded<DriftPoint[]>;
  efficacy: Loaded<EfficacyView>;
  /** null: the model has no review queue yet. */
  queue: Loaded<QueueDepth | null>;
  schedule: Loaded<ScheduleView>;
  /** The Temporal namespace (for the workflow links). */
  namespace: string;
}

/** One row of `/models`. */
export interface ModelSummary {
  modelId: string;
  champion: Loaded<string | null>;
  lastCycle: Loaded<CycleEntry | null>;
  /** e.g. "canary 5% v-…", "shadow v-…", "none". */
  rollout: Loaded<string>;
}
