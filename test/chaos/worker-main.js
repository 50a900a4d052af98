'use strict';
/* global require, process, console, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
// The body of `loopkeeper worker` (src/cli/commands/worker.ts) over the built dist/, with the workflow
// code bundled once per chaos run (LOOPKEEPER_CHAOS_WORKFLOW_BUNDLE) instead of at every start: the suite
// kills and restarts workers dozens of times, and a webpack build per start would dominate its budget.
const path = require('node:path');
const dist = path.join(__dirname, '..', '..', 'dist', 'src');
const { loadConfig } = require(path.join(dist, 'config'));
const { openBlobStore } = require(path.join(dist, 'storage', 'open-store'));
const { connectClient, connectWorker } = require(path.join(dist, 'workers', 'connect'));
const { createLoopkeeperWorker, installWorkerLogging } = require(path.join(dist, 'workers', 'worker'));

async function main() {
  const config = loadConfig(process.env);
  installWorkerLogging();
  const store = openBlobStore(config.store.uri, config.store.s3);
  const connection = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const worker = await createLoopkeeperWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: { store, config, client },
    workflowBundle: { codePath: process.env.LOOPKEEPER_CHAOS_WORKFLOW_BUNDLE },
  });
  console.log(`worker on task queue "${config.temporal.taskQueue}" pid ${process.pid}, store ${store.uri}`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
