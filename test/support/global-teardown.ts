import * as fs from 'node:fs';
import { stopTestServices } from './services';

/** Jest global teardown: stops this run's servers and removes their state. */
export default async function globalTeardown(): Promise<void> {
  const stateDir = process.env.LOOPKEEPER_TEST_STATE_DIR;
  if (!stateDir) return;
  stopTestServices(stateDir);
  fs.rmSync(stateDir, { recursive: true, force: true });
}
