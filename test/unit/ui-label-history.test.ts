import { taskFromRow } from '../../src/ui/label-history';

/** The label rows as the review queue writes them now: annotators and dissent as JSON lists. */
test('a row with JSON-list annotators and dissent gives each annotator their label', () => {
  const t = taskFromRow({
    label: 'churn',
    lineage: {
      taskId: 'h-1',
      annotators: JSON.stringify(['bob', 'a,b']),
      dissent: JSON.stringify([{ annotator: 'carol', label: 'st:ay' }]),
      labelledAt: '2026-06-10T10:00:00.000Z',
    },
  });
  expect(t?.labels).toEqual([
    { annotator: 'bob', label: 'churn' },
    { annotator: 'a,b', label: 'churn' },
    { annotator: 'carol', label: 'st:ay' },
  ]);
});

test('rows written before the JSON lists still read', () => {
  const t = taskFromRow({
    label: 'churn',
    lineage: {
      taskId: 'h-1',
      annotators: 'bob,dan',
      dissent: 'carol:stay',
      labelledAt: '2026-06-10T10:00:00Z',
    },
  });
  expect(t?.labels.map((l) => `${l.annotator}=${l.label}`)).toEqual(['bob=churn', 'dan=churn', 'carol=stay']);
});
