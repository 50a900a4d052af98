import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import servicesSetup from '../support/global-setup';

/**
 * The normal global setup (one Temporal dev server and one S3 server on free ports, state in a temp
 * dir the suite restarts them from), plus the workflow code bundled once from the built `dist/` for
 * the worker processes the scenarios start and kill.
 */
export default async function chaosSetup(): Promise<void> {
  const dist = path.resolve(__dirname, '../../dist/src/workflows/index.js');
  if (!fs.existsSync(dist)) throw new Error('dist/ missing: run `npm run build` (npm run test:chaos does)');
  await servicesSetup();
  const stateDir = process.env.LOOPKEEPER_TEST_STATE_DIR!;
  const silent = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: dist,
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: console.error },
  });
  const file = path.join(stateDir, 'workflow-bundle.js');
  fs.writeFileSync(file, code);
  process.env.LOOPKEEPER_CHAOS_WORKFLOW_BUNDLE = file;
  process.env.LOOPKEEPER_CHAOS_TALLY = path.join(stateDir, 'chaos-tally.ndjson');
}
