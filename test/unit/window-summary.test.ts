import {
  countJoined,
  countPrediction,
  emptySummary,
  mergeSummaries,
} from '../../src/monitoring/window-summary';

const o = (observedLabel: string, source: 'observed' | 'annotator' | 'heuristic', timestamp: string) => ({
  observedLabel,
  source,
  confidence: 1,
  timestamp,
});

test('countJoined judges by the most trusted outcome and counts disagreeing sources once', () => {
  const s = emptySummary();
  countPrediction(s, 'churn', 'v1');
  countJoined(s, { predictedLabel: 'churn', outcomes: [o('churn', 'observed', '2026-06-01T00:00:00Z')] });
  countJoined(s, {
    predictedLabel: 'churn',
    outcomes: [
      o('churn', 'heuristic', '2026-06-01T00:00:00Z'),
      o('stay', 'observed', '2026-06-02T00:00:00Z'),
    ],
  });
  countJoined(s, {
    predictedLabel: 'stay',
    outcomes: [
      o('stay', 'annotator', '2026-06-01T00:00:00Z'),
      o('stay', 'heuristic', '2026-06-03T00:00:00Z'),
    ],
  });
  countJoined(s, { predictedLabel: 'stay', outcomes: [] });
  expect(s).toMatchObject({
    predictions: 1,
    labelled: 3,
    misclassified: 1,
    sourceDisagreements: 1,
    observedClasses: { churn: 1, stay: 2 },
    confusion: { 'churn->churn': 1, 'churn->stay': 1, 'stay->stay': 1 },
  });
  expect(mergeSummaries(s, s)).toMatchObject({
    labelled: 6,
    sourceDisagreements: 2,
    confusion: { 'churn->stay': 2 },
  });
});
