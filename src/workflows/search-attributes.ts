import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SearchAttributePair } from '@temporalio/common';

/**
 * loopkeeper's custom search attributes, so the Temporal UI and `temporal workflow list --query` find a
 * model's workflows by kind and outcome without opening them. Every namespace loopkeeper uses must have
 * them registered (a workflow upserting an unknown attribute is stuck): `loopkeeper dev`, the installation's
 * namespace claim and worker start register them; on a cluster see infra/README.md.
 */
export const LoopkeeperModel = defineSearchAttributeKey('LoopkeeperModel', SearchAttributeType.KEYWORD);
export const LoopkeeperKind = defineSearchAttributeKey('LoopkeeperKind', SearchAttributeType.KEYWORD);
export const LoopkeeperOutcome = defineSearchAttributeKey('LoopkeeperOutcome', SearchAttributeType.KEYWORD);

/** Every custom attribute by name, all Keyword (`temporal operator search-attribute create --type Keyword`). */
export const searchAttributeNames = [LoopkeeperModel.name, LoopkeeperKind.name, LoopkeeperOutcome.name];

/** What a workflow is: one value of `LoopkeeperKind`. */
export type WorkflowKind = 'cycle' | 'retrain' | 'review' | 'drift' | 'rollout';

/**
 * Values of `LoopkeeperOutcome`. `running` until the workflow knows better; a cycle ends with what
 * happened to its candidate (or why there was none), a rollout with its end state.
 */
export type Outcome =
  | 'running'
  | 'failed'
  /** cycle: empty window */
  | 'skipped'
  /** cycle: a skew alert held the retrain */
  | 'skew-blocked'
  /** cycle: a feedback-loop cap held the retrain */
  | 'skipped-by-caps'
  /** cycle / retrain: the promotion gate did not bless the candidate (rollout: refused at start) */
  | 'refused'
  /** cycle / retrain: blessed and parked as challenger */
  | 'challenger'
  /** cycle / retrain / rollout: the candidate became champion */
  | 'promoted'
  /** rollout: waiting for a human (approve / abort) */
  | 'paused'
  | 'rolled-back'
  | 'aborted'
  /** drift: levels of the window */
  | 'no-drift'
  | 'drift-warn'
  | 'drift-alert'
  | 'skew-alert'
  | 'insufficient-data'
  /** cycle: completed without a retrain decision (e.g. nothing to decide) */
  | 'completed';

/** The attributes a client sets when it starts a workflow (the workflow upserts the same as it goes). */
export function startSearchAttributes(modelId: string, kind: WorkflowKind): SearchAttributePair[] {
  return [
    { key: LoopkeeperModel, value: modelId },
    { key: LoopkeeperKind, value: kind },
    { key: LoopkeeperOutcome, value: 'running' },
  ];
}
