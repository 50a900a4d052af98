import { taskFromRow } from '../../src/ui/label-history';

const row = (lineage: Record<string, string>) => ({ label: 'churn', lineage });

test('a label row names its agreeing annotators and dissent as JSON lists, ids with "," and ":" intact', () => {
  const task = taskFromRow(
    row({
      taskId: 't-1',
      labelledAt: '2026-12-07T09:00:00.000Z',
      annotators: JSON.stringify(['alice,ops', 'bob']),
      dissent: JSON.stringify([{ annotator: 'carol:x', label: 'stay,maybe' }]),
    }),
  );
  expect(task?.labels).toEqual([
    { annotator: 'alice,ops', label: 'churn' },
    { annotator: 'bob', label: 'churn' },
    { annotator: 'carol:x', label: 'stay,maybe' },
  ]);
});

test('rows written before the JSON lists (comma-joined) read the same way', () => {
  const task = taskFromRow(
    row({
      taskId: 't-2',
      labelledAt: '2026-12-07T09:00:00.000Z',
      annotators: 'alice,bob',
      dissent: 'carol:stay',
    }),
  );
  expect(task?.labels).toEqual([
    { annotator: 'alice', label: 'churn' },
    { annotator: 'bob', label: 'churn' },
    { annotator: 'carol', label: 'stay' },
  ]);
});
