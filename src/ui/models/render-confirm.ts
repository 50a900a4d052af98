import { html } from '../html';
import type { ModelAction } from './actions';
import { ACTIONS, MAX_REASON } from './actions';
import { modelPath } from './paths';

/**
 * The confirmation step of an admin action: the question, a required reason, and a POST form carrying
 * the CSRF token. Nothing changes until this form is submitted.
 */
export function renderConfirm(input: {
  modelId: string;
  action: ModelAction;
  csrf: string;
  error?: string;
}): string {
  const a = ACTIONS[input.action];
  return html`<h1>${a.label}: <code>${input.modelId}</code></h1>
    <p class="question">${a.question}</p>
    ${input.error ? html`<p class="problem">${input.error}</p>` : html``}
    <form method="post" action="${modelPath(input.modelId)}/actions/${input.action}">
      <input type="hidden" name="_csrf" value="${input.csrf}" />
      <input type="hidden" name="confirm" value="yes" />
      <label
        >Reason (recorded with the action)
        <input type="text" name="reason" required maxlength="${MAX_REASON}" size="60"
      /></label>
      <p>
        <button type="submit" class="confirm">Confirm: ${a.label}</button>
        <a href="${modelPath(input.modelId)}">Cancel</a>
      </p>
    </form>`.value;
}

/** What a refused or failed action shows (escaped), with the way back. */
export function renderActionError(input: { modelId: string; action: ModelAction; message: string }): string {
  return html`<h1>${ACTIONS[input.action].label}: <code>${input.modelId}</code></h1>
    <p class="problem">${input.message}</p>
    <p><a href="${modelPath(input.modelId)}">Back to the model</a></p>`.value;
}
