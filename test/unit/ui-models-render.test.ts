import { initialStatus } from '../../src/workflows/cycle-status';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import type { RolloutStatus } from '../../src/workflows/rollout';
import { actionAvailable } from '../../src/ui/models/actions';
import type { Loaded, ModelPageData, ModelSummary } from '../../src/ui/models/model-data';
import { chartedFeatures, driftChartSvg, MAX_DRIFT_SERIES } from '../../src/ui/models/render-charts';
import { renderConfirm } from '../../src/ui/models/render-confirm';
import { renderModelPage } from '../../src/ui/models/render-model-page';
import { renderModels } from '../../src/ui/models/render-models';

const HOSTILE = '<script>alert(1)</script>';

function valueOf<T>(loaded: Loaded<T>): T {
  if (!loaded.ok) throw new Error(loaded.error);
  return loaded.value;
}
const HOSTILE_ATTR = '"><img src=x onerror=alert(1)>';

function cycleStatus(): CycleStatus {
  const st = initialStatus('cycle-m-2026-06-08_2026-06-15', 'm', { from: '2026-06-08', to: '2026-06-15' });
  st.state = 'completed';
  st.stage = 'done';
  st.stages.caps = { state: 'done', detail: `retrain skipped (cooldown) ${HOSTILE}` };
  st.caps = {
    allowed: false,
    firedCaps: [{ cap: 'cooldown', detail: `last retrain 3 h ago ${HOSTILE}`, clearsAt: null }],
    nextAllowedAt: '2026-06-16T00:00:00.000Z',
    evidenceWaived: false,
    newLabelledRows: 3,
  };
  st.messages.push(`warning about ${HOSTILE}`);
  return st;
}

function rolloutStatus(over: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    workflowId: 'rollout-m',
    modelId: 'm',
    candidateVersion: 'v-2',
    championAtStart: 'v-1',
    candidate: null,
    phase: 'canary',
    stepIndex: 1,
    weightPercent: 5,
    steps: [1, 5, 10],
    paused: null,
    awaitingApproval: null,
    lastAnalysis: null,
    analyses: 2,
    decisions: [
      {
        at: '2026-06-15T00:00:00Z',
        phase: 'canary',
        weightPercent: 5,
        decision: 'step',
        actor: HOSTILE,
        reason: 'ok',
      },
    ],
    outcome: null,
    reason: null,
    ...over,
  };
}

/** A page's data with hostile strings wherever the store or users supply text. */
function pageData(over: Partial<ModelPageData> = {}): ModelPageData {
  const status = cycleStatus();
  return {
    modelId: 'm',
    loadedAt: '2026-06-15T12:00:00.000Z',
    namespace: 'loopkeeper-test',
    aliases: { ok: true, value: { champion: 'v-1', previous: 'v-0' } },
    versions: {
      ok: true,
      value: [
        {
          version: 'v-1',
          createdAt: '2026-06-01T00:00:00Z',
          blessed: true,
          offlinePrecision: 0.8,
          roles: ['champion'],
        },
      ],
    },
    rollout: {
      ok: true,
      value: {
        workflowId: 'rollout-m',
        execution: 'RUNNING',
        status: rolloutStatus(),
        note: null,
        config: { canary: { version: 'v-2', weightPercent: 5, salt: 's' } },
        doc: { updatedAt: '2026-06-15T00:00:00Z', updatedBy: 'rollout rollout-m', reason: HOSTILE },
      },
    },
    cycles: {
      ok: true,
      value: [
        {
          workflowId: status.cycleId,
          execution: 'COMPLETED',
          startTime: '2026-06-15T00:00:00.000Z',
          closeTime: '2026-06-15T00:05:00.000Z',
          status,
          verdict: { outcome: 'skipped-by-caps', detail: `cooldown: ${HOSTILE}` },
        },
      ],
    },
    drift: {
      ok: true,
      value: [
        {
          runId: 'cycle-m-2026-06-01_2026-06-08',
          window: { from: '2026-06-01T00:00:00.000Z', to: '2026-06-08T00:00:00.000Z' },
          level: 'warn',
          features: [
            { feature: HOSTILE, psi: 0.12 },
            { feature: 'tenure_days', psi: 0.02 },
          ],
          hasHtml: true,
        },
        {
          runId: 'cycle-m-2026-06-08_2026-06-15',
          window: { from: '2026-06-08T00:00:00.000Z', to: '2026-06-15T00:00:00.000Z' },
          level: 'alert',
          features: [
            { feature: HOSTILE, psi: 0.31 },
            { feature: 'tenure_days', psi: 0.05 },
          ],
          hasHtml: true,
        },
      ],
    },
    efficacy: {
      ok: true,
      value: {
        positiveClass: HOSTILE,
        cycles: 2,
        weeks: [
          {
            weekStart: '2026-06-01',
            rows: 10,
            truePositives: 4,
            falsePositives: 1,
            falseNegatives: 2,
            precision: 0.8,
            recall: 4 / 6,
            servingVersion: 'v-1',
            offlinePrecision: 0.82,
          },
        ],
      },
    },
    queue: {
      ok: true,
      value: {
        pending: 3,
        claimed: 1,
        backlog: 10,
        escalated: 0,
        expired: 2,
        done: 5,
        oldestPendingAgeMs: 7_200_000,
      },
    },
    schedule: {
      ok: true,
      value: {
        scheduleId: 'cycle-schedule-m',
        exists: true,
        paused: false,
        note: HOSTILE_ATTR,
        nextRuns: ['2026-06-16T03:00:00.000Z'],
        running: [],
      },
    },
    ...over,
  };
}

describe('renderModelPage', () => {
  test('every hostile value from the store shows as text, never as markup', () => {
    const page = renderModelPage(pageData(), { isAdmin: true });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  test('the drift chart is an inline SVG and each run links its HTML report', () => {
    const page = renderModelPage(pageData(), { isAdmin: false });
    expect(page).toMatch(/<figure class="chart drift-chart"><svg[\s\S]*<\/svg><\/figure>/);
    expect(page).toContain('href="/models/m/reports/cycle-m-2026-06-08_2026-06-15/drift.html"');
    expect(page).toMatch(/<figure class="chart efficacy-chart"><svg/);
  });

  test("the timeline shows each cycle's outcome and the caps' reasons; the next run and queue depth show", () => {
    const page = renderModelPage(pageData(), { isAdmin: false });
    expect(page).toContain('data-outcome="skipped-by-caps"');
    expect(page).toContain('<b>cooldown</b>: last retrain 3 h ago');
    expect(page).toContain('2026-06-16T03:00:00.000Z');
    expect(page).toMatch(/Queue depth <b>14<\/b>/);
    expect(page).toContain('share 5%');
  });

  test('admins get the action buttons, viewers do not', () => {
    const admin = renderModelPage(pageData(), { isAdmin: true });
    expect(admin).toContain('href="/models/m/confirm/abort-rollout"');
    expect(admin).toContain('href="/models/m/confirm/pause-schedule"');
    expect(admin).toContain('href="/models/m/confirm/rollback"');
    expect(admin).not.toContain('confirm/unpause-schedule');
    const viewer = renderModelPage(pageData(), { isAdmin: false });
    expect(viewer).not.toContain('/confirm/');
  });

  test('a part that failed to load says why and the rest still renders', () => {
    const page = renderModelPage(pageData({ cycles: { ok: false, error: `cycles: ${HOSTILE}` } }), {
      isAdmin: false,
    });
    expect(page).toContain('Could not load cycles: &lt;script&gt;');
    expect(page).toMatch(/drift-chart"><svg/);
  });
});

describe('charts', () => {
  test('a hostile feature name in the chart legend is escaped by the SSR renderer', () => {
    const svg = driftChartSvg(valueOf(pageData().drift));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
  });

  test('the drift chart draws the features with the highest PSI first, at most the cap', () => {
    const features = Array.from({ length: MAX_DRIFT_SERIES + 3 }, (_, i) => ({
      feature: `f${i}`,
      psi: i / 100,
    }));
    const charted = chartedFeatures([
      { runId: 'r', window: { from: 'a', to: 'b' }, level: 'none', features, hasHtml: false },
    ]);
    expect(charted).toHaveLength(MAX_DRIFT_SERIES);
    expect(charted[0]).toBe(`f${MAX_DRIFT_SERIES + 2}`);
  });
});

describe('actions', () => {
  test('approve is offered only while the rollout waits for approval; unpause only while paused', () => {
    const waiting = pageData();
    (waiting.rollout as { value: { status: RolloutStatus } }).value.status = rolloutStatus({
      awaitingApproval: { since: 'x', reason: 'y', deadline: 'z' },
    });
    expect(actionAvailable(waiting, 'approve-rollout')).toBe(true);
    expect(actionAvailable(pageData(), 'approve-rollout')).toBe(false);
    expect(actionAvailable(pageData(), 'unpause-schedule')).toBe(false);
    expect(actionAvailable(pageData(), 'pause-schedule')).toBe(true);
  });

  test('the confirmation form posts with the CSRF token and a required reason', () => {
    const form = renderConfirm({ modelId: 'm', action: 'abort-rollout', csrf: 'abc123' });
    expect(form).toContain('action="/models/m/actions/abort-rollout"');
    expect(form).toContain('name="_csrf" value="abc123"');
    expect(form).toContain('name="confirm" value="yes"');
    expect(form).toMatch(/name="reason" required/);
  });
});

describe('renderModels', () => {
  test('lists models with outcome and champion, escaping what the store holds', () => {
    const models: ModelSummary[] = [
      {
        modelId: 'm',
        champion: { ok: true, value: 'v-1' },
        lastCycle: { ok: true, value: valueOf(pageData().cycles)[0] },
        rollout: { ok: false, error: `rollout: ${HOSTILE}` },
      },
    ];
    const page = renderModels(models);
    expect(page).toContain('href="/models/m"');
    expect(page).toContain('skipped-by-caps');
    expect(page).not.toContain('<script>alert');
  });
});
