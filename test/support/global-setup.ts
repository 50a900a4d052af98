import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestServices, testBucket, testS3Credentials } from './services';

/** Jest global setup: one real Temporal dev server and one real S3 server for this run only. */
export default async function globalSetup(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-services-'));
  process.env.LOOPKEEPER_TEST_STATE_DIR = stateDir;
  const { temporalAddress, s3Endpoint } = await startTestServices(stateDir);
  process.env.LOOPKEEPER_TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.LOOPKEEPER_TEST_S3_ENDPOINT = s3Endpoint;
  process.env.LOOPKEEPER_TEST_S3_BUCKET = testBucket;
  process.env.LOOPKEEPER_TEST_S3_ACCESS_KEY_ID = testS3Credentials.accessKeyId;
  process.env.LOOPKEEPER_TEST_S3_SECRET_ACCESS_KEY = testS3Credentials.secretAccessKey;
}
