// The worker's workflowsPath: every workflow type is exported here.
export { continuousLearningCycle } from './cycle';
