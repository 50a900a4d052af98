// The worker's workflowsPath: every workflow type is exported here.
export { continuousLearningCycle } from './cycle';
export { reviewQueue } from './review-queue';
export { retrainModel } from './retrain';
export { driftMonitor } from './drift-monitor';
export { driftPartitionGroup } from './drift-fan-out';
export { rolloutModel } from './rollout';
