import { z } from 'zod';
import type { ModelPageData } from './model-data';

/**
 * The admin actions of the model page. Each is a GET to a confirmation step, then a POST (admin role,
 * CSRF token, a reason) that runs the CLI's own code path (src/cli/admin-actions.ts), so it leaves the
 * same audit record as the CLI.
 */
export const ACTIONS = {
  'approve-rollout': {
    label: 'Approve rollout',
    question: 'Accept the degradation the paused step reported and let the rollout proceed?',
    done: 'Approval sent to the rollout.',
  },
  'abort-rollout': {
    label: 'Abort rollout',
    question: 'Stop the rollout and roll the candidate back?',
    done: 'Abort sent to the rollout: the candidate is being rolled back.',
  },
  'pause-rollout': {
    label: 'Pause rollout',
    question: 'Hold the rollout at its current step (automatic rollback stays armed)?',
    done: 'Pause sent to the rollout.',
  },
  'resume-rollout': {
    label: 'Resume rollout',
    question: 'Let the held rollout proceed?',
    done: 'Resume sent to the rollout.',
  },
  rollback: {
    label: 'Roll back',
    question: 'Switch champion and previous now (the current champion is kept as "rolled-back")?',
    done: 'Rolled back: the previous version is champion again.',
  },
  'pause-schedule': {
    label: 'Pause schedule',
    question: 'Pause the scheduled cycles of this model?',
    done: 'Schedule paused.',
  },
  'unpause-schedule': {
    label: 'Unpause schedule',
    question: 'Resume the scheduled cycles of this model?',
    done: 'Schedule unpaused.',
  },
} as const;

export const ModelActionSchema = z.enum(
  Object.keys(ACTIONS) as [keyof typeof ACTIONS, ...(keyof typeof ACTIONS)[]],
);
export type ModelAction = z.infer<typeof ModelActionSchema>;

/** Longest reason kept (it goes into audit logs and workflow histories). */
export const MAX_REASON = 500;

/** The confirmed action's form: the reason is required, `confirm=yes` marks the confirmation step. */
export const ActionFormSchema = z.object({
  reason: z
    .string()
    .trim()
    .min(1, 'give a reason: it is recorded with the action')
    .max(MAX_REASON, `the reason is longer than ${MAX_REASON} characters`),
  confirm: z.literal('yes', { error: 'the action was not confirmed (confirm=yes missing)' }),
});
export type ActionForm = z.infer<typeof ActionFormSchema>;

/**
 * Whether the page offers an action now: rollout signals while a rollout runs (approve only while it
 * waits for approval, resume only while held), rollback when there is a previous version, pause or
 * unpause by the schedule's state. The POST does not rely on this: the action itself refuses.
 */
export function actionAvailable(data: ModelPageData, action: ModelAction): boolean {
  const r = data.rollout.ok ? data.rollout.value : null;
  const running = r?.execution === 'RUNNING';
  const s = data.schedule.ok ? data.schedule.value : null;
  switch (action) {
    case 'approve-rollout':
      return running && !!r?.status?.awaitingApproval;
    case 'abort-rollout':
      return running;
    case 'pause-rollout':
      return running && !r?.status?.paused && !r?.status?.awaitingApproval;
    case 'resume-rollout':
      return running && !!r?.status?.paused;
    case 'rollback':
      return data.aliases.ok && !!data.aliases.value.previous;
    case 'pause-schedule':
      return !!s?.exists && !s.paused;
    case 'unpause-schedule':
      return !!s?.exists && s.paused;
  }
}
