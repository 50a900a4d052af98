import { defineQuery } from '@temporalio/workflow';
import type { CycleStatus } from './cycle-status';

/** Current stage, per-stage results, counters and blob keys of a continuous-learning cycle. */
export const status = defineQuery<CycleStatus>('status');
