/**
 * The annotator's pages: the list of queues, one task (features as a table, slices, why it was routed,
 * and — only when the model's policy allows — the prediction and the given label), the keyboard
 * legend, the lease countdown and personal stats. Every value is escaped by `html`.
 */
import type { ReviewDisplayPolicy } from '../policy/model-policy';
import type { ClaimedTask } from '../schemas/review';
import { duration, featureText, percent } from './format';
import { html } from './html';
import type { SafeHtml } from './html';
import type { Flash } from './sessions';

/** Personal figures shown below the task. */
export interface PersonalStats {
  labelledToday: number;
  agreement: { tasks: number; agreed: number; rate: number | null } | undefined;
  submitted: number;
  skipped: number;
  /** Tasks waiting in the queue (pending + not yet paged in). */
  waiting: number;
}

/** Flash messages, newest last. */
export function flashList(flashes: Flash[]): SafeHtml {
  return html`${flashes.map((f) => html`<p class="flash ${f.kind}" role="status">${f.text}</p>`)}`;
}

/** The queues an annotator may work on. */
export function queueListBody(queues: { model: string; waiting: number | null }[]): SafeHtml {
  if (queues.length === 0)
    return html`<h1>Label</h1>
      <p>No review queue is running. A cycle starts one when it routes predictions to people.</p>`;
  return html`<h1>Label</h1>
    <p>Choose a queue:</p>
    <ul class="queues">
      ${queues.map(
        (q) =>
          html`<li>
            <a href="/annotate/${q.model}">${q.model}</a>
            <span class="muted">${q.waiting === null ? 'not answering' : `${q.waiting} waiting`}</span>
          </li>`,
      )}
    </ul>`;
}

function statsPanel(s: PersonalStats | undefined): SafeHtml {
  if (!s) return html``;
  const agreement = s.agreement
    ? html`${percent(s.agreement.rate)}
        <span class="muted">(${s.agreement.agreed} of ${s.agreement.tasks} shared tasks)</span>`
    : html`<span class="muted">no shared tasks yet</span>`;
  return html`<aside class="card stats" id="my-stats">
    <h2>You</h2>
    <dl>
      <dt>Labelled today</dt>
      <dd id="stat-today">${s.labelledToday}</dd>
      <dt>Agreement with consensus</dt>
      <dd id="stat-agreement">${agreement}</dd>
      <dt>Accepted by the queue (all time)</dt>
      <dd>${s.submitted}</dd>
      <dt>Skipped</dt>
      <dd>${s.skipped}</dd>
      <dt>Tasks waiting</dt>
      <dd id="stat-waiting">${s.waiting}</dd>
    </dl>
    <p class="muted small">Labels reach the store in batches, within about a minute.</p>
  </aside>`;
}

/** The page when no task is held: start (or check again). */
export function idleBody(p: {
  model: string;
  csrf: string;
  flashes: Flash[];
  stats?: PersonalStats;
}): SafeHtml {
  return html`<h1>Label <span class="muted">${p.model}</span></h1>
    ${flashList(p.flashes)}
    <section class="card">
      <form method="post" action="/annotate/${p.model}/next" id="next-form">
        <input type="hidden" name="_csrf" value="${p.csrf}" />
        <button type="submit" id="next" autofocus>Next task (Enter)</button>
      </form>
    </section>
    ${statsPanel(p.stats)}`;
}

function tagList(t: ClaimedTask): SafeHtml {
  return html`${t.hard ? html`<span class="tag">hard</span>` : ''}${t.audit ? html`<span class="tag">audit</span>` : ''}`;
}

/** The page for a claimed task. */
export function taskBody(p: {
  model: string;
  csrf: string;
  task: ClaimedTask;
  display: ReviewDisplayPolicy;
  flashes: Flash[];
  stats?: PersonalStats;
  renewEverySeconds: number;
  nowMs: number;
}): SafeHtml {
  const t = p.task;
  const scores = Object.entries(t.scores).sort((a, b) => b[1] - a[1]);
  const slices = Object.entries(t.slices ?? {});
  const left = Date.parse(t.lease.expiresAt) - p.nowMs;
  return html`<h1>Label <span class="muted">${p.model}</span></h1>
    ${flashList(p.flashes)}
    <section
      class="card task"
      id="task"
      data-model="${p.model}"
      data-task-id="${t.taskId}"
      data-expires="${t.lease.expiresAt}"
      data-renew-every="${p.renewEverySeconds}"
    >
      <h2>Task <code id="task-id">${t.taskId}</code> ${tagList(t)}</h2>
      <p class="lease">
        Lease: <strong id="lease-left">${duration(left)}</strong> left
        <span class="muted">(until ${t.lease.expiresAt}; renewed while this page is open)</span>
        <span id="lease-status" role="status"></span>
      </p>
      <p>
        <strong>Why it is here:</strong>
        <span id="route-reason">${t.routeReason}</span
        >${t.routeDetail ? html` — <span class="muted">${t.routeDetail}</span>` : ''}
      </p>
      ${t.hard ? html`<p class="muted">Hard task: ${t.labelsNeeded} agreeing labels needed; ${t.labelsSoFar} received from others (not shown).</p>` : ''}
      ${
        p.display.showPrediction
          ? html`<p id="prediction">
              <strong>Model predicted:</strong> ${t.predictedLabel}
              <span class="muted"
                >(${scores.map(([c, s], i) => html`${i ? ' · ' : ''}${c} ${s.toFixed(2)}`)})</span
              >
            </p>`
          : ''
      }
      ${
        p.display.showGivenLabel
          ? html`<p id="given-label">
              <strong>Given label:</strong> ${t.givenLabel} <span class="muted">(from ${t.labelSource})</span>
            </p>`
          : ''
      }
      <table class="features" id="features">
        <thead>
          <tr>
            <th>feature</th>
            <th>value</th>
          </tr>
        </thead>
        <tbody>
          ${Object.entries(t.features).map(
            ([k, v]) =>
              html`<tr><th scope="row">${k}</th><td${v === null ? html` class="missing"` : ''}>${featureText(v)}</td></tr>`,
          )}
        </tbody>
      </table>
      ${
        slices.length > 0
          ? html`<table class="slices" id="slices">
              <thead>
                <tr>
                  <th>slice</th>
                  <th>value</th>
                </tr>
              </thead>
              <tbody>
                ${slices.map(
                  ([k, v]) =>
                    html`<tr>
                      <th scope="row">${k}</th>
                      <td>${v}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : ''
      }
      <form method="post" action="/annotate/${p.model}/submit" id="label-form">
        <input type="hidden" name="_csrf" value="${p.csrf}" />
        <input type="hidden" name="taskId" value="${t.taskId}" />
        <fieldset>
          <legend>Label</legend>
          ${t.classes.map(
            (c, i) =>
              html`<label class="choice"
                ><input type="radio" name="label" value="${c}" ${i < 9 ? html` data-key="${i + 1}"` : ''} />
                ${i < 9 ? html`<kbd>${i + 1}</kbd>` : ''} ${c}</label
              >`,
          )}
        </fieldset>
        <label class="note"
          >Note <span class="muted">(n)</span>
          <textarea name="note" id="note" maxlength="500" rows="2"></textarea>
        </label>
        <button type="submit" id="submit-label">Submit (Enter)</button>
        <span id="form-hint" class="muted" role="status"></span>
      </form>
      <div class="row">
        <form method="post" action="/annotate/${p.model}/skip" id="skip-form">
          <input type="hidden" name="_csrf" value="${p.csrf}" />
          <input type="hidden" name="taskId" value="${t.taskId}" />
          <button type="submit" id="skip">Skip (s)</button>
        </form>
        <form method="post" action="/annotate/${p.model}/release" id="release-form">
          <input type="hidden" name="_csrf" value="${p.csrf}" />
          <input type="hidden" name="taskId" value="${t.taskId}" />
          <button type="submit" class="secondary">Stop and give the task back</button>
        </form>
      </div>
      <p class="keys muted">
        Keys: <kbd>1</kbd>…<kbd>9</kbd> choose a label · <kbd>Enter</kbd> submit · <kbd>s</kbd> skip ·
        <kbd>n</kbd> note (<kbd>Esc</kbd> leaves it)
      </p>
    </section>
    ${statsPanel(p.stats)}`;
}
