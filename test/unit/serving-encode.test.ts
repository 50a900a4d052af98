import type { PredictionRow } from '../../src/schemas/records';
import {
  answerJson,
  encodeInstance,
  encodeScore,
  encodeScoreVector,
  modelJson,
  rowJson,
} from '../../src/serving/encode';

/** The hand-built JSON must be JSON.stringify's, byte for byte: the log's readers and clients see no change. */
const strings = [
  'r-1',
  'with "quotes" and \\ backslash',
  'ünïcødé ✓ 🚀',
  'line\nbreak\ttab\u0000nul',
  '\ud800 lone',
];
const featureSets: PredictionRow['features'][] = [
  {},
  { tenure_days: 30, plan: 'basic', autopay: true, country: null },
  { spend: -1.5e-7, big: 1e21, negZero: -0, 'odd "key"': 'v', '1': 2 },
];
const scoreSets: Array<{ predictedLabel: string; scores: Record<string, number> }> = [
  { predictedLabel: 'churn', scores: { stay: 0.1 + 0.2, churn: 1 - (0.1 + 0.2) } },
  { predictedLabel: 'a "b"', scores: { 'a "b"': 1, c: 0, d: 5e-324 } },
];

describe('encode: hand-built answer and log row JSON', () => {
  test('rowJson equals JSON.stringify of the PredictionRow, optional fields present or not', () => {
    let checked = 0;
    for (const requestId of strings)
      for (const entityId of [undefined, ...strings.slice(1, 3)])
        for (const features of featureSets)
          for (const slices of [undefined, {}, { country: 'DE', 'we"ird': strings[3] }] as Array<
            Record<string, string> | undefined
          >)
            for (const result of scoreSets)
              for (const role of ['champion', 'canary', 'shadow'] as const)
                for (const latencyMs of [0, 0.123456789, 12.5, NaN]) {
                  const row: PredictionRow = {
                    requestId,
                    timestamp: '2026-06-15T12:00:00.000Z',
                    modelId: 'churn',
                    modelVersion: strings[1],
                    entityId,
                    features,
                    predictedLabel: result.predictedLabel,
                    scores: result.scores,
                    slices,
                    role,
                    latencyMs,
                  };
                  const line = rowJson(
                    encodeInstance(requestId, { entityId, features, slices }),
                    JSON.stringify(row.timestamp),
                    modelJson('churn', strings[1]),
                    encodeScore(result),
                    role,
                    latencyMs,
                  );
                  expect(line).toBe(JSON.stringify(row));
                  checked++;
                }
    expect(checked).toBeGreaterThan(1000);
  });

  test('encodeScoreVector equals encodeScore of the scores object scoreFeatures builds, whatever the class names', () => {
    const classSets = [
      ['stay', 'churn'],
      // A positive class "0" stored second: the object's keys come out "0", "1" (integer-like keys first).
      ['1', '0'],
      ['10', '9', 'x', '2', '-1', '01', '4294967295', '4294967294'],
      ['__proto__', 'constructor', 'a "b"', 'ünï ✓', '\ud800'],
    ];
    const values = [0.1 + 0.2, 1 - (0.1 + 0.2), 5e-324, -0, 1, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e21];
    let checked = 0;
    for (const classes of classSets)
      for (let shift = 0; shift < values.length; shift++) {
        const probabilities = Float64Array.from(classes, (_, k) => values[(k + shift) % values.length]);
        for (let predicted = 0; predicted < classes.length; predicted++) {
          const scores = Object.fromEntries(classes.map((c, k) => [c, probabilities[k]]));
          expect(encodeScoreVector(classes, predicted, probabilities)).toEqual(
            encodeScore({ predictedLabel: classes[predicted], scores }),
          );
          checked++;
        }
      }
    expect(checked).toBe(9 * (2 + 2 + 8 + 5));
  });

  test('answerJson equals JSON.stringify of the PredictionAnswer', () => {
    for (const requestId of strings)
      for (const result of scoreSets)
        for (const role of ['champion', 'canary'] as const) {
          const answer = {
            requestId,
            modelVersion: strings[2],
            predictedLabel: result.predictedLabel,
            scores: result.scores,
            role,
          };
          expect(answerJson(JSON.stringify(requestId), strings[2], encodeScore(result), role)).toBe(
            JSON.stringify(answer),
          );
          const ignoredFeatures = [requestId, 'tenure_days'];
          expect(
            answerJson(JSON.stringify(requestId), strings[2], encodeScore(result), role, ignoredFeatures),
          ).toBe(JSON.stringify({ ...answer, ignoredFeatures }));
        }
  });
});
