import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { openBlobStore } from '../../src/storage/open-store';

test('the defaults load, and the default store opens (the first command of a fresh clone)', async () => {
  const cfg = loadConfig({});
  expect(cfg.temporal).toMatchObject({
    address: '127.0.0.1:7233',
    namespace: 'default',
    taskQueue: 'loopkeeper',
    external: false,
  });
  const store = openBlobStore(cfg.store.uri, cfg.store.s3);
  expect(store.uri).toContain('.loopkeeper/store');
  await store.close();
});

test.each([
  [{ TEMPORAL_ADDRESS: 'localhost' }, /TEMPORAL_ADDRESS="localhost": must be host:port/],
  [
    { LOOPKEEPER_STORE: 'ftp://x' },
    /LOOPKEEPER_STORE="ftp:\/\/x": must be file:\/\/<path> or s3:\/\/<bucket>/,
  ],
  [{ LOOPKEEPER_MAX_BAD_ROW_RATE: '2' }, /LOOPKEEPER_MAX_BAD_ROW_RATE="2"/],
  [{ LOOPKEEPER_PARTITION_ROWS: '0' }, /LOOPKEEPER_PARTITION_ROWS="0"/],
  [{ LOOPKEEPER_S3_ENDPOINT: 'not a url' }, /LOOPKEEPER_S3_ENDPOINT="not a url"/],
  [{ TEMPORAL_TLS_CLIENT_CERT_PATH: '/tmp/c.pem' }, /TEMPORAL_TLS_CLIENT_KEY_PATH: required/],
])('a bad value fails at start naming the variable: %o', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});

test('LOOPKEEPER_PARTITION_ROWS sets the rows per columnar partition (default 250k)', () => {
  expect(loadConfig({}).ingest.partitionRows).toBe(250_000);
  expect(loadConfig({ LOOPKEEPER_PARTITION_ROWS: '1500' }).ingest.partitionRows).toBe(1500);
});

test('a config file is merged under the environment, and a broken one is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-config-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ temporal: { namespace: 'ml', taskQueue: 'from-file' }, ingest: { windowDays: 14 } }),
  );
  const cfg = loadConfig({
    LOOPKEEPER_CONFIG: file,
    LOOPKEEPER_TASK_QUEUE: 'from-env',
    TEMPORAL_ADDRESS: 'temporal.prod:7233',
  });
  expect(cfg.temporal).toMatchObject({
    namespace: 'ml',
    taskQueue: 'from-env',
    address: 'temporal.prod:7233',
    external: true,
  });
  expect(cfg.ingest.windowDays).toBe(14);
  fs.writeFileSync(file, '{ nope');
  expect(() => loadConfig({ LOOPKEEPER_CONFIG: file })).toThrow(
    `LOOPKEEPER_CONFIG=${file}: cannot read it as JSON`,
  );
});
