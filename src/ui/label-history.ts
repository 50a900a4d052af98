/**
 * What people labelled, as the lead's view and personal stats need it: finished review tasks from the
 * label rows the queue wrote (`labels/{model}/human/`, each row's lineage names the agreeing annotators
 * and the dissent), plus the escalated tasks still known to the queue (their labels, no consensus).
 * Rows reach the store in batches (every `flushEveryMs`, 60 s by default), so the newest labels show
 * up within about a minute.
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { listReviewTasks } from '../cli/review-client';
import type { AnnotatedTask } from '../policy/annotator-agreement';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { lineageAnnotators } from '../workflows/review-queue-state';

/** The queue's dissent: a JSON list of `{ annotator, label }` (rows before it: `annotator:label,...`). */
const DissentSchema = z.array(z.object({ annotator: z.string().min(1), label: z.string().min(1) }));

/** The dissenting labels of a row's lineage, from either format. */
export function lineageDissent(raw: string | undefined): Array<{ annotator: string; label: string }> {
  if (!raw) return [];
  if (raw.startsWith('[')) {
    try {
      const parsed = DissentSchema.safeParse(JSON.parse(raw));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: the old format
    }
  }
  const out: Array<{ annotator: string; label: string }> = [];
  for (const d of raw.split(',').filter(Boolean)) {
    // `annotator:label`; a label may itself hold ':' (annotator names could not).
    const at = d.indexOf(':');
    if (at > 0) out.push({ annotator: d.slice(0, at), label: d.slice(at + 1) });
  }
  return out;
}

/** The part of a human-review label row this reads. */
const HumanRowSchema = z.object({
  label: z.string().min(1),
  lineage: z.object({
    taskId: z.string().min(1),
    annotators: z.string(),
    labelledAt: z.string(),
    dissent: z.string().optional(),
  }),
});

/** Label records of one model, and how many rows could not be read (counted, never hidden). */
export interface LabelHistory {
  tasks: AnnotatedTask[];
  unreadableRows: number;
}

/** Parses one written row into a task record, or undefined when it is not a review row. */
export function taskFromRow(row: unknown): AnnotatedTask | undefined {
  const r = HumanRowSchema.safeParse(row);
  if (!r.success) return undefined;
  const { lineage, label } = r.data;
  const labels = lineageAnnotators(lineage).map((annotator) => ({ annotator, label }));
  labels.push(...lineageDissent(lineage.dissent));
  return { taskId: lineage.taskId, labels, finalLabel: label, finishedAt: lineage.labelledAt };
}

/**
 * Reads a model's written review labels, caching each object by key and size (batches are rewritten
 * whole, never appended), so a page load re-reads only new batches.
 */
export class LabelHistoryReader {
  private readonly cache = new Map<string, { size: number; tasks: AnnotatedTask[]; bad: number }>();

  constructor(private readonly store: BlobStore) {}

  /** Finished tasks from the store plus the queue's escalated tasks (when the queue answers). */
  async read(client: Client, modelId: string): Promise<LabelHistory> {
    const tasks: AnnotatedTask[] = [];
    let unreadableRows = 0;
    for await (const { key, size } of this.store.listSizes(layout.labelsPrefix(modelId, 'human'))) {
      let entry = this.cache.get(key);
      if (!entry || entry.size !== size) {
        entry = { size, ...(await this.parse(key)) };
        this.cache.set(key, entry);
      }
      tasks.push(...entry.tasks);
      unreadableRows += entry.bad;
    }
    const escalated = await listReviewTasks(client, modelId, { statuses: ['escalated'], limit: 1000 }).catch(
      () => [],
    );
    for (const v of escalated)
      tasks.push({
        taskId: v.taskId,
        labels: v.labels.map((l) => ({ annotator: l.annotator, label: l.label })),
        ...(v.finishedAt ? { finishedAt: v.finishedAt } : {}),
      });
    return { tasks, unreadableRows };
  }

  private async parse(key: string): Promise<{ tasks: AnnotatedTask[]; bad: number }> {
    const text = (await this.store.get(key)).toString('utf8');
    const tasks: AnnotatedTask[] = [];
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let t: AnnotatedTask | undefined;
      try {
        t = taskFromRow(JSON.parse(line));
      } catch {
        t = undefined;
      }
      if (t) tasks.push(t);
      else bad++;
    }
    return { tasks, bad };
  }
}
