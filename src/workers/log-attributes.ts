import type { ActivityInterceptors } from '@temporalio/worker';

/**
 * Adds `model` to every log event of an activity whose input names one (`{ modelId }`), next to the
 * SDK's workflowId, runId, activityType and attempt, so one model's events can be picked out of the log.
 */
export function modelLogAttributes(): ActivityInterceptors {
  let model: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const first = input.args[0] as { modelId?: unknown } | undefined;
        if (first && typeof first === 'object' && typeof first.modelId === 'string') model = first.modelId;
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        return next(model === undefined ? input : { ...input, model });
      },
    },
  };
}
