import { nextCommands } from '../../cli/commands/rollout';
import { cycleStages } from '../../workflows/cycle-status';
import type { CycleStatus } from '../../workflows/cycle-status';
import type { RolloutStatus } from '../../workflows/rollout';
import { html, raw } from '../html';
import type { SafeHtml } from '../html';
import type { ModelAction } from './actions';
import { actionAvailable, ACTIONS } from './actions';
import type {
  CycleEntry,
  DriftPoint,
  EfficacyView,
  Loaded,
  ModelPageData,
  QueueDepth,
  RolloutView,
  ScheduleView,
  VersionRow,
} from './model-data';
import { driftChartSvg, efficacyChartSvg } from './render-charts';
import { MODELS_BASE, modelPath, reportPath } from './paths';

/** What the viewer may do on the page. */
export interface PageViewer {
  /** Admins get the action buttons. */
  isAdmin: boolean;
  /** The action just done (after the redirect), shown once at the top. */
  done?: ModelAction;
}

const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`;

/** A coloured word: outcome, level, state. The class is derived from fixed words only. */
export function badge(word: string): SafeHtml {
  const cls = /^[a-z-]+$/.test(word) ? word : 'other';
  return html`<span class="badge b-${cls}">${word}</span>`;
}

/** A part that did not load: its reason, escaped. */
function failed(part: { ok: false; error: string }): SafeHtml {
  return html`<p class="problem">Could not load ${part.error}</p>`;
}

function part<T>(loaded: Loaded<T>, render: (value: T) => SafeHtml): SafeHtml {
  return loaded.ok ? render(loaded.value) : failed(loaded);
}

/** A button to the confirmation step of an action (a GET: nothing changes until the confirmed POST). */
function actionButton(modelId: string, action: ModelAction): SafeHtml {
  return html`<a class="button action-${action}" href="${modelPath(modelId)}/confirm/${action}"
    >${ACTIONS[action].label}</a
  >`;
}

function buttons(data: ModelPageData, viewer: PageViewer, which: readonly ModelAction[]): SafeHtml {
  if (!viewer.isAdmin) return html``;
  const shown = which.filter((a) => actionAvailable(data, a));
  return shown.length === 0
    ? html``
    : html`<p class="actions">${shown.map((a) => actionButton(data.modelId, a))}</p>`;
}

function versionsTable(rows: VersionRow[]): SafeHtml {
  if (rows.length === 0) return html`<p>No registered versions.</p>`;
  return html`<table class="versions">
      <thead>
        <tr>
          <th>Version</th>
          <th>Created</th>
          <th>Serving as</th>
          <th>Blessed</th>
          <th class="num">Offline precision</th>
        </tr>
      </thead>
      <tbody>
        ${rows.slice(0, 10).map(
          (v) =>
            html`<tr>
              <td><code>${v.version}</code></td>
              <td>${v.createdAt}</td>
              <td>${v.roles.join(', ') || '–'}</td>
              <td>${v.blessed === null ? '–' : v.blessed ? 'yes' : 'refused'}</td>
              <td class="num">${num(v.offlinePrecision)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${rows.length > 10 ? html`<p class="meta">${rows.length - 10} older version(s) not shown.</p>` : html``}`;
}

function rolloutStatusBlock(st: RolloutStatus): SafeHtml {
  const a = st.lastAnalysis;
  return html`<dl class="rollout">
      <dt>Candidate</dt>
      <dd><code>${st.candidateVersion}</code> against champion <code>${st.championAtStart ?? '–'}</code></dd>
      <dt>Phase</dt>
      <dd>
        ${badge(st.phase)}${st.paused ? html` held by ${st.paused.actor}: ${st.paused.reason}` : html``}
      </dd>
      <dt>Step</dt>
      <dd>
        ${st.stepIndex < 0 ? '–' : `${st.stepIndex + 1}/${st.steps.length}`} · share ${st.weightPercent}%
        (steps ${st.steps.join('-')})
      </dd>
      ${
        st.awaitingApproval
          ? html`<dt>Waiting</dt>
              <dd class="alert">
                for approval since ${st.awaitingApproval.since} (aborts at ${st.awaitingApproval.deadline}):
                ${st.awaitingApproval.reason}
              </dd>`
          : html``
      }
      ${
        st.outcome
          ? html`<dt>Outcome</dt>
              <dd>${badge(st.outcome)} ${st.reason ?? ''}</dd>`
          : html``
      }
      <dt>Analysis</dt>
      <dd>
        ${
          a
            ? html`${badge(a.verdict)} ${a.phase === 'shadow' ? 'shadow' : `canary ${a.weightPercent}%`},
                window ${a.from}..${a.to}, quality from ${a.metricSource}
                <ul>
                  ${a.measures.map((m) => html`<li><b>${m.measure}</b>: ${m.detail}</li>`)}${a.notes.map((n) => html`<li>note: ${n}</li>`)}
                </ul>`
            : 'none yet for this step'
        }
      </dd>
    </dl>
    ${
      nextCommands(st).length > 0
        ? html`<p>Next:</p>
            <pre class="next">
${nextCommands(st)
                .map((l) => l.trim())
                .join('\n')}</pre>`
        : html``
    }
    <details>
      <summary>Decisions (${st.decisions.length})</summary>
      <ul>
        ${st.decisions.map(
          (d) => html`<li>${d.at} ${d.decision} at ${d.weightPercent}% by ${d.actor}: ${d.reason}</li>`,
        )}
      </ul>
    </details>`;
}

function rolloutSection(data: ModelPageData, r: RolloutView, viewer: PageViewer): SafeHtml {
  const served = [
    ...(r.config.canary ? [`canary ${r.config.canary.weightPercent}% → ${r.config.canary.version}`] : []),
    ...(r.config.shadow ? [`shadow (logged only) ${r.config.shadow.version}`] : []),
  ];
  return html`<p>
      Serving besides the champion: <b>${served.join('; ') || 'nothing (champion only)'}</b>${
        r.doc
          ? html` <span class="meta">(set ${r.doc.updatedAt} by ${r.doc.updatedBy}: ${r.doc.reason})</span>`
          : html``
      }
    </p>
    <p>Rollout workflow <code>${r.workflowId}</code>: ${r.execution ?? 'none yet'}</p>
    ${r.note ? html`<p class="problem">${r.note}</p>` : html``}
    ${r.status ? rolloutStatusBlock(r.status) : html``}
    ${buttons(data, viewer, ['approve-rollout', 'pause-rollout', 'resume-rollout', 'abort-rollout', 'rollback'])}`;
}

function scheduleSection(data: ModelPageData, s: ScheduleView, viewer: PageViewer): SafeHtml {
  if (!s.exists)
    return html`<p>
      No schedule (<code>loopkeeper schedule create --model ${data.modelId} --every 1d</code>).
    </p>`;
  return html`<p>
      Schedule <code>${s.scheduleId}</code>: ${s.paused ? badge('paused') : badge('active')} ${s.note ?? ''}
    </p>
    <p>
      Next scheduled run:
      <b class="next-run">${s.paused ? 'none while paused' : (s.nextRuns[0] ?? 'none')}</b>${
        s.running.length > 0 ? html` · running now: ${s.running.join(', ')}` : html``
      }
    </p>
    ${buttons(data, viewer, ['pause-schedule', 'unpause-schedule'])}`;
}

function queueSection(q: QueueDepth | null): SafeHtml {
  if (!q) return html`<p>No review queue yet.</p>`;
  const age = q.oldestPendingAgeMs === null ? '–' : `${(q.oldestPendingAgeMs / 3_600_000).toFixed(1)} h`;
  return html`<p class="queue">
    Queue depth <b>${q.pending + q.claimed + q.backlog}</b>: ${q.pending} pending, ${q.claimed} claimed,
    ${q.backlog} in the backlog; oldest pending ${age}; ${q.escalated} escalated, ${q.expired} expired leases,
    ${q.done} done.
  </p>`;
}

function stageList(st: CycleStatus): SafeHtml {
  return html`<ol class="stages">
    ${cycleStages.map((s) => {
      const stage = st.stages[s];
      return html`<li class="stage st-${stage.state}">
        <b>${s}</b> ${badge(stage.state)} ${stage.detail ?? ''}
      </li>`;
    })}
  </ol>`;
}

function cycleItem(modelId: string, c: CycleEntry, drift: Map<string, DriftPoint>): SafeHtml {
  const st = c.status;
  const d = drift.get(c.workflowId);
  return html`<li class="cycle" data-outcome="${c.verdict.outcome}">
    <div class="cycle-head">
      <code>${c.workflowId}</code> ${badge(c.verdict.outcome)}
      <span class="meta"
        >${st ? `window ${st.window.from}..${st.window.to} · ` : ''}started
        ${c.startTime}${c.closeTime ? ` · closed ${c.closeTime}` : ''}</span
      >
    </div>
    <p class="verdict">${c.verdict.detail}</p>
    ${
      st?.caps && !st.caps.allowed
        ? html`<p>Caps held the retrain${st.caps.nextAllowedAt ? ` until ${st.caps.nextAllowedAt}` : ''}:</p>
            <ul class="caps">
              ${st.caps.firedCaps.map((f) => html`<li><b>${f.cap}</b>: ${f.detail}</li>`)}
            </ul>`
        : html``
    }
    ${st?.drift ? html`<p>Drift ${badge(st.drift.level)} over ${st.drift.rows} rows${st.drift.skewAlert ? ' · SKEW ALERT' : ''}${d?.hasHtml ? html` · <a href="${reportPath(modelId, c.workflowId)}">drift report</a>` : html``}</p>` : html``}
    ${
      st
        ? html`<details>
            <summary>Stages</summary>
            ${stageList(st)}${
              st.messages.length > 0
                ? html`<ul class="messages">
                    ${st.messages.map((m) => html`<li>${m}</li>`)}
                  </ul>`
                : html``
            }
          </details>`
        : html``
    }
  </li>`;
}

function cyclesSection(modelId: string, cycles: CycleEntry[], drift: DriftPoint[]): SafeHtml {
  if (cycles.length === 0) return html`<p>No cycles yet.</p>`;
  const byRun = new Map(drift.map((d) => [d.runId, d]));
  return html`<ol class="timeline">
    ${cycles.map((c) => cycleItem(modelId, c, byRun))}
  </ol>`;
}

function driftSection(modelId: string, points: DriftPoint[]): SafeHtml {
  if (points.length === 0) return html`<p>No drift reports yet.</p>`;
  return html`<figure class="chart drift-chart">${raw(driftChartSvg(points, 0))}</figure>
    <table class="drift-runs">
      <thead>
        <tr>
          <th>Run</th>
          <th>Window</th>
          <th>Level</th>
          <th>Worst feature</th>
          <th>Report</th>
        </tr>
      </thead>
      <tbody>
        ${[...points].reverse().map((p) => {
          const worst = [...p.features].sort((a, b) => (b.psi ?? 0) - (a.psi ?? 0))[0];
          return html`<tr>
            <td><code>${p.runId}</code></td>
            <td>${p.window.from.slice(0, 10)}..${p.window.to.slice(0, 10)}</td>
            <td>${badge(p.level)}</td>
            <td>${worst ? html`<code>${worst.feature}</code> ${num(worst.psi)}` : '–'}</td>
            <td>${p.hasHtml ? html`<a href="${reportPath(modelId, p.runId)}">drift.html</a>` : '–'}</td>
          </tr>`;
        })}
      </tbody>
    </table>`;
}

function efficacySection(e: EfficacyView): SafeHtml {
  if (e.weeks.length === 0)
    return html`<p>No matured outcomes in the stored joined data yet (${e.cycles} cycle(s) read).</p>`;
  return html`<p class="meta">
      Positive class <code>${e.positiveClass}</code>: served predictions whose observed outcome matured, by
      week served (${e.cycles} cycle(s) of joined data); the last weeks fill in as outcomes mature.
    </p>
    <figure class="chart efficacy-chart">${raw(efficacyChartSvg(e.weeks, 1))}</figure>
    <table class="efficacy">
      <thead>
        <tr>
          <th>Week of</th>
          <th class="num">Rows</th>
          <th class="num">Precision</th>
          <th class="num">Recall</th>
          <th>Served by</th>
          <th class="num">Offline precision</th>
          <th class="num">Gap</th>
        </tr>
      </thead>
      <tbody>
        ${e.weeks.map(
          (w) =>
            html`<tr>
              <td>${w.weekStart}</td>
              <td class="num">${w.rows}</td>
              <td class="num">${num(w.precision)}</td>
              <td class="num">${num(w.recall)}</td>
              <td><code>${w.servingVersion}</code></td>
              <td class="num">${num(w.offlinePrecision)}</td>
              <td class="num">
                ${
                  w.precision === null || w.offlinePrecision === null
                    ? '–'
                    : pct(w.precision - w.offlinePrecision)
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/** Styles of the model pages (inline: no external resources). */
export const MODEL_PAGE_STYLE = `
.badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;background:#616161;font-size:.8rem}
.b-promoted,.b-done,.b-none,.b-active,.b-continue,.b-completed{background:#2e7d32}
.b-refused,.b-failed,.b-alert,.b-rolled-back,.b-aborted,.b-rollback{background:#c62828}
.b-skipped-by-caps,.b-warn,.b-paused,.b-pause,.b-awaiting-approval,.b-challenger{background:#ef6c00}
.b-running,.b-canary,.b-shadow{background:#1565c0}
.problem{color:#b71c1c}.meta{color:#616161}.alert{color:#b71c1c;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
ol.timeline{list-style:none;padding:0}li.cycle{border-left:3px solid #90a4ae;padding:4px 10px;margin-bottom:10px}
li.cycle[data-outcome=failed],li.cycle[data-outcome=refused]{border-color:#c62828}
li.cycle[data-outcome=promoted]{border-color:#2e7d32}li.cycle[data-outcome=skipped-by-caps]{border-color:#ef6c00}
.button{display:inline-block;margin-right:8px;padding:4px 10px;border:1px solid #1565c0;border-radius:4px;text-decoration:none}
dl.rollout{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.rollout dd{margin:0}
figure.chart{margin:0}figure.chart svg{max-width:100%;height:auto}pre.next{background:#f5f5f5;padding:6px}
`;

/** The body of `/models/:id` (the shell's layout wraps it). Every value from the data is escaped. */
export function renderModelPage(data: ModelPageData, viewer: PageViewer): string {
  const drift = data.drift.ok ? data.drift.value : [];
  return html`<style>
      ${raw(MODEL_PAGE_STYLE)}
    </style>
    <p><a href="${MODELS_BASE}">← all models</a></p>
    <h1>Model <code>${data.modelId}</code></h1>
    <p class="meta">Loaded ${data.loadedAt} · namespace ${data.namespace}</p>
    ${viewer.done ? html`<p class="flash">${ACTIONS[viewer.done].done}</p>` : html``}
    <section id="serving">
      <h2>Serving</h2>
      ${part(data.aliases, (a) => html`<p>Champion <code class="champion">${a.champion ?? '–'}</code>${a.previous ? html` · previous <code>${a.previous}</code>` : html``}</p>`)}
      ${part(data.rollout, (r) => rolloutSection(data, r, viewer))} ${part(data.versions, versionsTable)}
    </section>
    <section id="schedule">
      <h2>Schedule</h2>
      ${part(data.schedule, (s) => scheduleSection(data, s, viewer))}
    </section>
    <section id="queue">
      <h2>Review queue</h2>
      ${part(data.queue, queueSection)}
    </section>
    <section id="cycles">
      <h2>Last cycles</h2>
      ${part(data.cycles, (c) => cyclesSection(data.modelId, c, drift))}
    </section>
    <section id="drift">
      <h2>Drift over time (PSI per feature per run)</h2>
      ${part(data.drift, (d) => driftSection(data.modelId, d))}
    </section>
    <section id="quality">
      <h2>Production precision and recall per week</h2>
      ${part(data.efficacy, efficacySection)}
    </section>`.value;
}
