import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../src/workflows';
import { historiesDir } from '../support/histories';
import { workflowBundle } from '../support/temporal';

/**
 * Replays recorded histories (test/histories/*.json, recorded from real runs with
 * LOOPKEEPER_RECORD_HISTORIES=1) against today's workflow code: a non-deterministic change fails here.
 */
const files = fs.existsSync(historiesDir)
  ? fs
      .readdirSync(historiesDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

function workflowTypeOf(history: ReturnType<typeof historyFromJSON>): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}

/** Files are named `{label}__{workflowId}.json`; older ones without a workflow id use the label. */
function workflowIdOf(file: string): string {
  const base = file.replace(/\.json$/, '');
  return base.includes('__') ? base.slice(base.indexOf('__') + 2) : base;
}

describe('replay of recorded histories', () => {
  test('every workflow type has at least one recorded history', () => {
    const recorded = new Set(
      files.map((f) =>
        workflowTypeOf(historyFromJSON(JSON.parse(fs.readFileSync(path.join(historiesDir, f), 'utf8')))),
      ),
    );
    expect(Object.keys(workflows).filter((t) => !recorded.has(t))).toEqual([]);
  });

  test.each(files)('%s replays deterministically', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowIdOf(file));
  });
});
