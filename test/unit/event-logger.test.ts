import { log as activityLog } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { EventLogger, formatFor, jsonLine, logLevelOf, prettyLine } from '../../src/logging/event-logger';
import { modelLogAttributes } from '../../src/workers/log-attributes';

const at = new Date('2026-06-15T12:00:01.000Z');

test('an event is one JSON line: ts, level, msg, then its attributes; errors as type and message', () => {
  const line = jsonLine(
    'WARN',
    'Activity failed',
    {
      workflowId: 'cycle-churn-1',
      runId: 'r1',
      activityType: 'ingestWindow',
      attempt: 3,
      model: 'churn',
      error: new TypeError('bad\nline'),
    },
    at,
  );
  expect(line).not.toContain('\n');
  expect(JSON.parse(line)).toEqual({
    ts: '2026-06-15T12:00:01.000Z',
    level: 'WARN',
    msg: 'Activity failed',
    workflowId: 'cycle-churn-1',
    runId: 'r1',
    activityType: 'ingestWindow',
    attempt: 3,
    model: 'churn',
    error: { type: 'TypeError', message: 'bad\nline' },
  });
});

test('an error from another realm (workflow code) keeps its type, message and cause', () => {
  const foreign = {
    name: 'Error',
    message: 'Activity task failed',
    stack: 'Error: …',
    cause: { name: 'ApplicationFailure', type: 'UnknownModel', message: 'unknown model', stack: '…' },
  };
  Object.defineProperty(foreign, 'message', { enumerable: false });
  expect(JSON.parse(jsonLine('WARN', 'Workflow failed', { error: foreign }, at)).error).toEqual({
    type: 'Error',
    message: 'Activity task failed',
    cause: { type: 'UnknownModel', message: 'unknown model' },
  });
});

test('on a terminal the same event is one readable line, the identifying attributes first', () => {
  expect(
    prettyLine(
      'INFO',
      'cycle finished',
      { state: 'completed', workflowId: 'cycle-churn-1', model: 'churn', sdkComponent: 'workflow' },
      at,
    ),
  ).toBe('12:00:01 INFO  cycle finished  model=churn workflowId=cycle-churn-1 state=completed');
  expect(formatFor({ isTTY: true })).toBe('pretty');
  expect(formatFor({ isTTY: false })).toBe('json');
  expect(formatFor({})).toBe('json');
  expect(formatFor({ isTTY: true }, 'json')).toBe('json');
});

test('the logger drops events below its level and adds its base attributes', () => {
  const lines: string[] = [];
  const logger = new EventLogger('INFO', 'json', (l) => lines.push(l)).child({
    component: 'serve',
    model: 'churn',
  });
  logger.debug('hidden');
  logger.info('listening', { port: 8080 });
  logger.error('boom', { model: 'other' });
  expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
    expect.objectContaining({
      level: 'INFO',
      msg: 'listening',
      component: 'serve',
      model: 'churn',
      port: 8080,
    }),
    expect.objectContaining({ level: 'ERROR', msg: 'boom', model: 'other' }),
  ]);
  expect(logLevelOf('debug')).toBe('DEBUG');
  expect(logLevelOf('loud')).toBe('WARN');
});

test("an activity's log events carry workflowId, runId, activityType, attempt and the input's model", async () => {
  const lines: string[] = [];
  const env = new MockActivityEnvironment(
    {
      activityType: 'ingestWindow',
      attempt: 2,
      workflowExecution: { workflowId: 'cycle-churn-1', runId: 'run-1' },
    },
    { logger: new EventLogger('INFO', 'json', (l) => lines.push(l)), interceptors: [modelLogAttributes] },
  );
  await env.run(async (_input: { modelId: string }) => activityLog.info('reading logs', { parts: 3 }), {
    modelId: 'churn',
  });
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(events.find((e) => e.msg === 'reading logs')).toMatchObject({
    level: 'INFO',
    workflowId: 'cycle-churn-1',
    runId: 'run-1',
    activityType: 'ingestWindow',
    attempt: 2,
    model: 'churn',
    parts: 3,
  });
});
