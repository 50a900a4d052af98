import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const historiesDir = path.resolve(__dirname, '..', 'histories');

/**
 * Saves a finished workflow's history for the replay tests when LOOPKEEPER_RECORD_HISTORIES=1.
 * Recorded histories are committed: a later workflow change that breaks determinism fails replay.
 */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.LOOPKEEPER_RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  fs.mkdirSync(historiesDir, { recursive: true });
  // The workflow id is part of the name: replay must use it (child ids derive from it).
  fs.writeFileSync(path.join(historiesDir, `${name}__${handle.workflowId}.json`), historyToJSON(history));
}
