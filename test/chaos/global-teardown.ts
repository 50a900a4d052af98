import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import servicesTeardown from '../support/global-teardown';
import { formatTallies, readTallies } from './tally';

/** Prints the run's tally, keeps the worker logs when a scenario failed, then stops the servers. */
export default async function chaosTeardown(): Promise<void> {
  const file = process.env.LOOPKEEPER_CHAOS_TALLY;
  const stateDir = process.env.LOOPKEEPER_TEST_STATE_DIR;
  const tallies = file ? readTallies(file) : [];
  console.log(formatTallies(tallies));
  if (stateDir && tallies.some((t) => t.problems.length)) {
    const keep = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-chaos-logs-'));
    for (const f of fs.readdirSync(stateDir).filter((n) => n.endsWith('.log') || n.endsWith('.ndjson')))
      fs.copyFileSync(path.join(stateDir, f), path.join(keep, f));
    fs.copyFileSync(path.join(stateDir, 'temporal', 'temporal.log'), path.join(keep, 'temporal.log'));
    console.log(`worker logs and the tally kept in ${keep}`);
  }
  await servicesTeardown();
}
