import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../../lib/ml/model.ts';
import {
  DriftReferenceError,
  PROBABILITY_BINS,
  binOf,
  buildReference,
  parseDriftReference,
  probabilityBin,
} from '../../../../lib/ml/reference.ts';

/** 1000 rows: `uniform` 1..1000 with every 10th value missing (100 NaN); `rain` 0/1 (70 % zero); `empty` all NaN. */
function training(): Dataset {
  const n = 1000;
  const data = new Float64Array(n * 3);
  for (let r = 0; r < n; r++) {
    data[r] = r % 10 === 9 ? NaN : r + 1;
    data[n + r] = r % 10 < 7 ? 0 : 1;
    data[2 * n + r] = NaN;
  }
  return { featureNames: ['uniform', 'rain', 'empty'], nRows: n, data };
}

describe('binOf', () => {
  it('puts x in the first bin whose edge is >= x, above the last edge in the last value bin, NaN apart', () => {
    const edges = [1, 2, 3];
    expect([0, 1, 1.5, 2, 3, 3.5, NaN].map((x) => binOf(edges, x))).toEqual([0, 0, 1, 1, 2, 3, 4]);
    expect(binOf([], 7)).toBe(0);
    expect(binOf([], NaN)).toBe(1);
  });

  it('bins probabilities into ten equal bins, 1 in the last', () => {
    expect([0, 0.05, 0.1, 0.55, 0.9999, 1].map(probabilityBin)).toEqual([0, 0, 1, 5, 9, 9]);
  });
});

describe('buildReference', () => {
  const probabilities = [0.9, 0.8, 0.3, 0.1, 0.6, 0.05];
  const labels = [1, 1, 0, 0, 0, 1];
  const ref = buildReference(training(), probabilities, labels);

  it('cuts each feature at its training deciles, with a missing bin, proportions summing to 1', () => {
    const uniform = ref.features[0]!;
    expect(uniform.edges).toHaveLength(9);
    expect(uniform.expected).toHaveLength(11);
    expect(uniform.expected[10]).toBeCloseTo(0.1, 12); // missing
    for (let b = 0; b < 10; b++) expect(uniform.expected[b]).toBeCloseTo(0.09, 2);
    for (const f of ref.features) expect(f.expected.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('merges repeated cut points of a discrete feature and handles a column with no values', () => {
    expect(ref.features[1]!.edges).toEqual([0, 1]);
    expect(ref.features[1]!.expected).toEqual([0.7, 0.3, 0, 0]);
    expect(ref.features[2]).toMatchObject({ name: 'empty', edges: [], expected: [0, 1] });
  });

  it('records the probability histogram and the validation accuracy and Brier score', () => {
    expect(ref.prediction.expected).toHaveLength(PROBABILITY_BINS);
    expect(ref.prediction.expected[0]).toBeCloseTo(1 / 6, 12); // 0.05
    expect(ref.prediction.expected[9]).toBeCloseTo(1 / 6, 12); // 0.9
    // At 0.5: right on 0.9, 0.8, 0.3, 0.1; wrong on 0.6 (no rain) and 0.05 (rain).
    expect(ref.performance.accuracy).toBeCloseTo(4 / 6, 12);
    const brier = probabilities.reduce((s, p, i) => s + (p - labels[i]!) ** 2, 0) / 6;
    expect(ref.performance.brier).toBeCloseTo(brier, 12);
    expect(ref.performance).toMatchObject({ n: 6, threshold: 0.5 });
    // At 0.2, 0.3 and 0.6 say rain (wrong), 0.05 says none (wrong).
    expect(
      buildReference(training(), probabilities, labels, { threshold: 0.2 }).performance.accuracy,
    ).toBeCloseTo(3 / 6, 12);
    expect(ref.rows).toBe(1000);
  });

  it('keeps proportions per calendar month from the month feature, null where a month has too few rows', () => {
    // 600 January rows with temp 30, 400 July rows with temp 10, 20 March rows.
    const n = 1020;
    const data = new Float64Array(2 * n);
    for (let r = 0; r < n; r++) {
      const month = r < 600 ? 1 : r < 1000 ? 7 : 3;
      data[r] = month === 1 ? 30 : 10;
      data[n + r] = month;
    }
    const dataset: Dataset = { featureNames: ['temp3pm', 'month'], nRows: n, data };
    const training = Array.from({ length: n }, (_, r) => (r < 600 ? 0.05 : 0.95));
    const seasonal = buildReference(dataset, [0.5], [1], { trainingProbabilities: training });
    const temp = seasonal.features[0]!;
    expect(temp.edges).toEqual([10, 30]);
    expect(temp.byMonth[0]).toEqual([0, 1, 0, 0]); // January: all 30
    expect(temp.byMonth[6]).toEqual([1, 0, 0, 0]); // July: all 10
    expect(temp.byMonth[2]).toBeNull(); // March: 20 rows
    expect(temp.byMonth[11]).toBeNull();
    expect(seasonal.prediction.byMonth[0]![0]).toBe(1);
    expect(seasonal.prediction.byMonth[6]![9]).toBe(1);
    expect(ref.prediction.byMonth.every((m) => m === null)).toBe(true); // no training probabilities given
    expect(() => buildReference(dataset, [0.5], [1], { trainingProbabilities: [0.5] })).toThrow(
      DriftReferenceError,
    );
  });

  it('is JSON that parses back to itself; a malformed one is refused', () => {
    const stored = parseDriftReference(JSON.parse(JSON.stringify(ref)));
    expect(stored).toEqual(ref);
    // One stored before per-month proportions existed reads as all-year only.
    const legacy = JSON.parse(JSON.stringify(ref));
    delete legacy.prediction.byMonth;
    for (const f of legacy.features) delete f.byMonth;
    expect(parseDriftReference(legacy)).toEqual(ref);
    const broken = JSON.parse(JSON.stringify(ref));
    broken.features[0].edges = [3, 2];
    expect(() => parseDriftReference(broken)).toThrow(DriftReferenceError);
    expect(() => parseDriftReference({ ...ref, prediction: { expected: [1] } })).toThrow(DriftReferenceError);
    expect(() => parseDriftReference({ ...ref, format: 'other' })).toThrow(DriftReferenceError);
    expect(() => parseDriftReference(null)).toThrow(DriftReferenceError);
  });

  it('refuses labels that are not 0/1, probabilities outside [0, 1] and an empty validation', () => {
    expect(() => buildReference(training(), [0.5], [2])).toThrow(DriftReferenceError);
    expect(() => buildReference(training(), [1.5], [1])).toThrow(DriftReferenceError);
    expect(() => buildReference(training(), [], [])).toThrow(DriftReferenceError);
    expect(() => buildReference(training(), [0.5, 0.5], [1])).toThrow(DriftReferenceError);
  });
});
