/**
 * The lead's view (admin): per queue its depth and age, throughput and agreement per annotator,
 * Cohen's kappa between annotator pairs, escalated tasks and expiries. Every value escaped by `html`.
 */
import type { ConsensusAgreement, PairKappa } from '../policy/annotator-agreement';
import type { ReviewStats, TaskView } from '../schemas/review';
import { duration, percent } from './format';
import { html } from './html';
import type { SafeHtml } from './html';

/** One row of the queues overview. */
export interface QueueRow {
  model: string;
  stats?: ReviewStats;
  error?: string;
}

/** All running queues, one row each. */
export function leadOverviewBody(rows: QueueRow[]): SafeHtml {
  if (rows.length === 0)
    return html`<h1>Review queues</h1>
      <p>No review queue is running.</p>`;
  return html`<h1>Review queues</h1>
    <table class="grid" id="queues">
      <thead>
        <tr>
          <th>model</th>
          <th>backlog</th>
          <th>pending</th>
          <th>claimed</th>
          <th>oldest pending</th>
          <th>done</th>
          <th>escalated</th>
          <th>expired</th>
          <th>leases expired</th>
          <th>rejected</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map((r) =>
          r.stats
            ? html`<tr>
                <td><a href="/lead/${r.model}">${r.model}</a></td>
                <td>${r.stats.backlog}</td>
                <td>${r.stats.pending}</td>
                <td>${r.stats.claimed}</td>
                <td>${r.stats.oldestPendingAgeMs === null ? '–' : duration(r.stats.oldestPendingAgeMs)}</td>
                <td>${r.stats.done}</td>
                <td>${r.stats.escalated}</td>
                <td>${r.stats.expired}</td>
                <td>${r.stats.leaseExpiries}</td>
                <td>${r.stats.rejected}</td>
              </tr>`
            : html`<tr>
                <td>${r.model}</td>
                <td colspan="9" class="error">${r.error ?? 'no answer'}</td>
              </tr>`,
        )}
      </tbody>
    </table>`;
}

/** Per annotator figures of one queue. */
export interface AnnotatorRow {
  annotator: string;
  claimed: number;
  submitted: number;
  skipped: number;
  last24h: number;
  last7d: number;
  agreement?: ConsensusAgreement;
}

function kappaText(k: number | null): string {
  return k === null ? '–' : k.toFixed(3);
}

/** One queue in detail. */
export function leadQueueBody(p: {
  model: string;
  stats: ReviewStats;
  annotators: AnnotatorRow[];
  pairs: PairKappa[];
  escalated: TaskView[];
  unreadableRows: number;
  nowMs: number;
}): SafeHtml {
  const s = p.stats;
  return html`<h1>Review queue <span class="muted">${p.model}</span></h1>
    <section class="card">
      <h2>Depth and age</h2>
      <dl class="inline" id="depth">
        <dt>backlog (in the store)</dt>
        <dd>${s.backlog}</dd>
        <dt>pending</dt>
        <dd id="pending">${s.pending}</dd>
        <dt>claimed</dt>
        <dd>${s.claimed}</dd>
        <dt>oldest pending</dt>
        <dd>${s.oldestPendingAgeMs === null ? '–' : duration(s.oldestPendingAgeMs)}</dd>
        <dt>done</dt>
        <dd id="done">${s.done}</dd>
        <dt>escalated</dt>
        <dd id="escalated-count">${s.escalated}</dd>
        <dt>expired tasks</dt>
        <dd id="expired">${s.expired}</dd>
        <dt>expired leases</dt>
        <dd>${s.leaseExpiries}</dd>
        <dt>labels waiting to be written</dt>
        <dd>${s.outbox}</dd>
        <dt>rejected messages</dt>
        <dd>${s.rejected}</dd>
      </dl>
    </section>
    <section class="card">
      <h2>Annotators</h2>
      <table class="grid" id="annotators">
        <thead>
          <tr>
            <th>annotator</th>
            <th>labels, 24 h</th>
            <th>labels, 7 days</th>
            <th>accepted (all time)</th>
            <th>skipped</th>
            <th>claims</th>
            <th>agreement with consensus</th>
          </tr>
        </thead>
        <tbody>
          ${p.annotators.map(
            (a) =>
              html`<tr data-annotator="${a.annotator}">
                <td>${a.annotator}</td>
                <td>${a.last24h}</td>
                <td>${a.last7d}</td>
                <td>${a.submitted}</td>
                <td>${a.skipped}</td>
                <td>${a.claimed}</td>
                <td class="agreement">
                  ${a.agreement ? html`${percent(a.agreement.rate)} <span class="muted">(${a.agreement.agreed}/${a.agreement.tasks})</span>` : '–'}
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      <p class="muted small">
        Labels per window count tasks finished in it, from the rows written to the
        store${p.unreadableRows ? html` (<strong>${p.unreadableRows} unreadable rows</strong> left out)` : ''}.
        Agreement counts tasks several people labelled that reached a consensus.
      </p>
    </section>
    <section class="card">
      <h2>Agreement between annotators (Cohen's kappa)</h2>
      ${
        p.pairs.length === 0
          ? html`<p class="muted">No task labelled by two annotators yet.</p>`
          : html`<table class="grid" id="kappa">
              <thead>
                <tr>
                  <th>annotators</th>
                  <th>shared tasks</th>
                  <th>observed agreement</th>
                  <th>by chance</th>
                  <th>kappa</th>
                </tr>
              </thead>
              <tbody>
                ${p.pairs.map(
                  (k) =>
                    html`<tr data-pair="${k.a}|${k.b}">
                      <td>${k.a} · ${k.b}</td>
                      <td>${k.n}</td>
                      <td>${percent(k.observed)}</td>
                      <td>${percent(k.expected)}</td>
                      <td class="kappa">${kappaText(k.kappa)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>
    <section class="card">
      <h2>Escalated tasks <span class="muted">(no consensus: need a decision)</span></h2>
      ${
        p.escalated.length === 0
          ? html`<p class="muted">None.</p>`
          : html`<table class="grid" id="escalated">
              <thead>
                <tr>
                  <th>task</th>
                  <th>why routed</th>
                  <th>labels given</th>
                  <th>since</th>
                </tr>
              </thead>
              <tbody>
                ${p.escalated.map(
                  (v) =>
                    html`<tr>
                      <td><code>${v.taskId}</code></td>
                      <td>${v.task?.routeReason ?? ''}</td>
                      <td>${v.labels.map((l, i) => html`${i ? ', ' : ''}${l.annotator}: ${l.label}`)}</td>
                      <td>${v.finishedAt ? duration(p.nowMs - Date.parse(v.finishedAt)) : '–'}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>`;
}
