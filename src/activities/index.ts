import type { ActivityDeps } from './deps';
import { createEnqueueReviewTasks } from './enqueue-review-tasks';
import { createFlushReviewLabels } from './flush-review-labels';
import { createReadReviewSegment, createWriteReviewSegment } from './review-backlog-activities';
import { createAckReviewInbox, createReadReviewInbox, createStoreReviewInboxLabels } from './review-inbox';
import { createEvaluateCandidate } from './evaluate-candidate';
import { createIngestWindow } from './ingest-window';
import { createLoadCycleContext } from './load-cycle-context';
import { createMineAndRoute } from './mine-and-route';
import { createPromoteCandidate } from './promote-candidate';
import { createRefreshChallengeSet } from './refresh-challenge-set';
import { createRefreshTestSet } from './refresh-test-set';
import { createTrainCandidate } from './train-candidate';
import { createBuildReferenceProfile } from './build-reference-profile';
import { createComputeDrift } from './compute-drift';
import { createDriftPartition, createPrepareDrift, createReduceDrift } from './drift-partitions';
import { createAnalyseRolloutStep } from './analyse-rollout-step';
import { createSetRolloutState } from './set-rollout-state';
import { createCheckRolloutCandidate } from './check-rollout-candidate';
import { createSendAlert } from './send-alert';
import { createCheckReviewBacklog } from './check-review-backlog';
import { createPrepareExternalTraining, createRegisterExternalModel } from './external-training';
import { outageTolerant } from '../storage/outage-tolerant-store';
import { keepAlive } from './heartbeat';

export type { ActivityDeps } from './deps';

/**
 * Builds every activity over its dependencies. Workflows import this module as a type only
 * (`proxyActivities<Activities>`), so none of it is bundled into workflow code.
 */
export function createActivities(given: ActivityDeps) {
  // A store outage of minutes is routine: every call waits it out (heartbeating) up to the configured
  // budget, and only then fails the attempt, which Temporal retries until the activity's bound.
  const minutes = given.config.store.outageMinutes;
  const deps: ActivityDeps =
    minutes > 0
      ? { ...given, store: outageTolerant(given.store, { budgetMs: minutes * 60_000, onWait: keepAlive }) }
      : given;
  return {
    ingestWindow: createIngestWindow(deps),
    loadCycleContext: createLoadCycleContext(deps),
    mineAndRoute: createMineAndRoute(deps),
    refreshTestSet: createRefreshTestSet(deps),
    refreshChallengeSet: createRefreshChallengeSet(deps),
    trainCandidate: createTrainCandidate(deps),
    prepareExternalTraining: createPrepareExternalTraining(deps),
    registerExternalModel: createRegisterExternalModel(deps),
    evaluateCandidate: createEvaluateCandidate(deps),
    promoteCandidate: createPromoteCandidate(deps),
    flushReviewLabels: createFlushReviewLabels(deps),
    enqueueReviewTasks: createEnqueueReviewTasks(deps),
    readReviewSegment: createReadReviewSegment(deps),
    writeStagedReviewSegment: createWriteReviewSegment(deps),
    readReviewInbox: createReadReviewInbox(deps),
    ackReviewInbox: createAckReviewInbox(deps),
    storeReviewInboxLabels: createStoreReviewInboxLabels(deps),
    buildReferenceProfile: createBuildReferenceProfile(deps),
    computeDrift: createComputeDrift(deps),
    prepareDrift: createPrepareDrift(deps),
    driftPartition: createDriftPartition(deps),
    reduceDrift: createReduceDrift(deps),
    analyseRolloutStep: createAnalyseRolloutStep(deps),
    setRolloutState: createSetRolloutState(deps),
    checkRolloutCandidate: createCheckRolloutCandidate(deps),
    sendAlert: createSendAlert(deps),
    checkReviewBacklog: createCheckReviewBacklog(deps),
  };
}

/** The activity interface workflows proxy. */
export type Activities = ReturnType<typeof createActivities>;
