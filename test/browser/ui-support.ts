/** Shared setup of the browser tests: a real queue on a real worker, the web app, and Chromium. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { LoopkeeperConfig } from '../../src/config';
import type { ReviewTask } from '../../src/schemas/review';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';

/** Chromium from the configuration (`LOOPKEEPER_CHROMIUM`), else Debian's. */
export function launchChromium(config: LoopkeeperConfig): Promise<Browser> {
  return chromium.launch({
    executablePath: config.ui.chromiumPath ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
}

/** A review task with readable churn features. */
export function churnTask(model: string, i: number, over: Partial<ReviewTask> = {}): ReviewTask {
  return {
    taskId: `t-${String(i).padStart(3, '0')}`,
    modelId: model,
    requestId: `r-2026-06-10-${i}`,
    timestamp: '2026-06-10T09:00:00.000Z',
    features: {
      tenure_days: 30 + i * 17,
      plan: i % 2 ? 'pro' : 'basic',
      monthly_spend: 19.5 + i,
      support_tickets: i % 4,
      discount_used: i % 3 === 0,
      last_login_days: null,
    },
    predictedLabel: 'stay',
    scores: { churn: 0.31, stay: 0.69 },
    givenLabel: 'churn',
    labelSource: 'user-report',
    routeReason: 'model-disputes-label',
    routeDetail: 'p(churn)=0.31 below the class threshold 0.55',
    hard: false,
    audit: false,
    classes: ['churn', 'stay'],
    createdAt: `2026-06-10T10:00:${String(i).padStart(2, '0')}.000Z`,
    slices: { country: i % 2 ? 'DE' : 'US' },
    ...over,
  };
}

/** Human-review rows written to the store for a model. */
export async function storedHumanRows(
  store: BlobStore,
  model: string,
): Promise<{ label: string; lineage: Record<string, string> }[]> {
  const rows: { label: string; lineage: Record<string, string> }[] = [];
  for await (const { key } of store.listSizes(layout.labelsPrefix(model, 'human'))) {
    for (const line of (await store.get(key)).toString('utf8').split('\n'))
      if (line.trim()) rows.push(JSON.parse(line) as { label: string; lineage: Record<string, string> });
  }
  return rows;
}

/** Polls until `check` returns a value (labels are written in batches). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  ms = 60_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Signs in through the form. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.fill('#token', token);
  await Promise.all([page.waitForEvent('load'), page.press('#token', 'Enter')]);
}

/** Presses a key that submits a form and waits for the next page. */
export async function pressAndLoad(page: Page, key: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.keyboard.press(key)]);
}

/** Saves a README screenshot when LOOPKEEPER_SCREENSHOTS=1 (`npm run screenshots`). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.LOOPKEEPER_SCREENSHOTS !== '1') return;
  const dir = path.join(__dirname, '..', '..', 'docs', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
