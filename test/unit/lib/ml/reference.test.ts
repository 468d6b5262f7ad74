import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../../lib/ml/model.ts';
import {
  buildDriftReference,
  calibrated,
  DriftReferenceError,
  expectedOutcome,
  medianInPlace,
  neighbourResidual,
  parseDriftReference,
  permutationImportance,
  probabilityBin,
  psi,
  quantileSorted,
  seasonMix,
  type ReferenceInput,
} from '../../../../lib/ml/reference.ts';
import {
  normals,
  syntheticReference,
  syntheticRegressionReference,
  uniforms,
} from '../../../support/drift-fixtures.ts';

/**
 * Four groups over 200 chunks of 7 rows: `x` = shared chunk signal (sd 3) + group level + row noise (sd 1);
 * group 3 misses `x` on every other row of its last 40 chunks; group 2's `flat` is one repeated value.
 */
function input(): ReferenceInput {
  const random = normals(3);
  const G = 4;
  const chunks = 200;
  const n = G * chunks * 7;
  const data = new Float64Array(3 * n);
  const groups = new Int32Array(n);
  const seasons = new Int8Array(n);
  const chunkOf = new Int32Array(n);
  let r = 0;
  for (let k = 0; k < chunks; k++) {
    const signal = 3 * random();
    for (let g = 0; g < G; g++) {
      for (let d = 0; d < 7; d++, r++) {
        groups[r] = g;
        seasons[r] = Math.floor(k / 17) % 12;
        chunkOf[r] = 1000 + k;
        data[r] = g === 3 && k >= 160 && d % 2 === 0 ? NaN : 10 * g + signal + random();
        data[n + r] = g === 2 ? 5 : random();
        // Another reading of the same signal with its own noise (one instrument, two readings).
        data[2 * n + r] = 10 * g + signal + random();
      }
    }
  }
  const p = Array.from({ length: n }, (_, i) => ((i % 9) + 0.5) / 10);
  const labels = uniforms(5);
  return {
    data: { featureNames: ['x', 'flat', 'y'], nRows: n, data },
    groups,
    groupNames: ['a', 'b', 'c', 'd'],
    seasons,
    chunks: chunkOf,
    columns: [
      { name: 'x', importance: 0.8, rank: 1, perGroup: true, pooled: true },
      { name: 'flat', importance: 0.1, rank: 3, perGroup: true, pooled: false },
      { name: 'y', importance: 0.1, rank: 2, perGroup: true, pooled: false },
    ],
    combined: [
      { name: 'xy', columns: ['x', 'y'] },
      { name: 'x-alone', columns: ['x', 'not-watched'] },
    ],
    importance: [0.8, 0.1, 0.1],
    trainingProbabilities: p,
    validation: {
      probabilities: p.slice(0, 2000),
      labels: p.slice(0, 2000).map((q) => (labels() < q ? 1 : 0)),
      chunks: chunkOf.slice(0, 2000),
    },
    threshold: 0.5,
    options: { minOverlap: 20, neighbours: 2, recentChunks: 52, minPooledRows: 20 },
  };
}

describe('buildDriftReference', () => {
  const ref = buildDriftReference(input());
  const x = ref.columns[0]!;

  it('keeps per group-season means and spreads of each watched column, ranked', () => {
    expect(ref.columns.map((c) => c.name)).toEqual(['x', 'y', 'flat']);
    const mean = x.mean[1 * 12 + 0]!;
    expect(mean).toBeGreaterThan(9);
    expect(mean).toBeLessThan(11.5);
    // Row spread within a season is the chunk signal and the row noise: about sqrt(9 + 1).
    expect(x.sd[1 * 12 + 0]!).toBeGreaterThan(2);
    expect(x.sd[1 * 12 + 0]!).toBeLessThan(4.5);
  });

  it('finds neighbours sharing the signal, whose residual is far narrower than the anomaly', () => {
    const b = x.groups[1]!;
    expect(b.neighbours).toHaveLength(2);
    for (const [, slope] of b.neighbours) expect(slope).toBeGreaterThan(0.7);
    // Chunk anomalies spread about 3 (the shared signal); the residual only by the chunk noise (~0.5).
    expect(b.residualSd!).toBeLessThan(1);
    expect(b.residualSd2!).toBeLessThan(b.residualSd!);
    expect(x.shiftThreshold!).toBeGreaterThanOrEqual(3);
    expect(x.shiftThreshold2!).toBeGreaterThanOrEqual(3);
  });

  it('holds a fully reporting group to "nearly all missing", and knows a group that misses half the time', () => {
    expect(x.groups[0]!.missing).toBe(0);
    expect(x.groups[0]!.missingThreshold).toBe(0.85);
    expect(x.groups[3]!.missing).toBeGreaterThan(0.3);
    // Its recent chunks miss 4 of 7: a chunk breaches only above 4/7 + 0.15.
    expect(x.groups[3]!.missingThreshold).toBeCloseTo(Math.max(0.85, 4 / 7 + 0.15), 4);
  });

  it('counts chunks of one repeated value: ordinary for a constant column, absent for a noisy one', () => {
    const flat = ref.columns[2]!;
    expect(flat.groups[2]!.repeats).toBe(200);
    expect(flat.groups[0]!.repeats).toBe(0);
  });

  it("judges an instrument's readings together: their mean standardized residual spreads less than one", () => {
    expect(ref.combined.map((c) => [c.name, c.columns, c.rank])).toEqual([['xy', ['x', 'y'], 1]]);
    const b = ref.combined[0]!.groups[1]!;
    // Two readings with independent noise: the mean of two unit-spread residuals spreads about 0.7.
    expect(b.residualSd!).toBeGreaterThan(0.5);
    expect(b.residualSd!).toBeLessThan(0.9);
    expect(ref.combined[0]!.shiftThreshold!).toBeGreaterThanOrEqual(3);
  });

  it('sets the pooled band from the chunk-to-chunk spread of the pooled standardized mean', () => {
    expect(x.pooledShift.threshold).not.toBeNull();
    expect(x.pooledShift.threshold!).toBeGreaterThan(0);
    expect(x.pooledMissingThreshold).toBeGreaterThanOrEqual(0.1);
  });

  it('keeps the validation performance, calibration bins and the weekly gap spread', () => {
    expect(ref.performance!.n).toBe(2000);
    expect(ref.performance!.calibration).toHaveLength(10);
    expect(ref.performance!.calibration.reduce((s, b) => s + b.n, 0)).toBe(2000);
    expect(ref.performance!.gapSd).not.toBeNull();
    expect(ref.performance!.accuracy).toBeGreaterThan(0.5);
  });

  it('survives JSON and parses back; refuses another format version', () => {
    const parsed = parseDriftReference(JSON.parse(JSON.stringify(ref)));
    expect(parsed.columns[0]!.groups[1]!.neighbours).toEqual(x.groups[1]!.neighbours);
    expect(() => parseDriftReference({ ...ref, formatVersion: 1 })).toThrow(DriftReferenceError);
    expect(() =>
      parseDriftReference({ format: 'rainstream.drift-reference', formatVersion: 1, features: [] }),
    ).toThrow(DriftReferenceError);
  });

  it('refuses inputs that do not line up', () => {
    const bad = { ...input(), chunks: new Int32Array(3) };
    expect(() => buildDriftReference(bad)).toThrow(DriftReferenceError);
    expect(() =>
      buildDriftReference({
        ...input(),
        columns: [{ name: 'nope', importance: 1, rank: 1, perGroup: true, pooled: true }],
      }),
    ).toThrow(/not a feature/);
  });
});

describe('statistics', () => {
  it('neighbourResidual subtracts the median of the scaled neighbours, so one faulty neighbour moves it little', () => {
    const anomalies = [0, 2, 2.2, 1.8, 40];
    const residual = neighbourResidual(
      2.1,
      [
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
      ],
      (g) => anomalies[g]!,
    );
    expect(Math.abs(residual)).toBeLessThan(0.2);
    expect(neighbourResidual(2, [[1, 1]], (g) => anomalies[g]!)).toBeNaN();
    expect(
      neighbourResidual(
        NaN,
        [
          [1, 1],
          [2, 1],
        ],
        (g) => anomalies[g]!,
      ),
    ).toBeNaN();
  });

  it('psi is 0 on identical proportions and grows with a shift; seasonMix weighs seasons by their rows', () => {
    expect(psi([0.25, 0.25, 0.5], [25, 25, 50])).toBeCloseTo(0, 12);
    expect(psi([0.25, 0.25, 0.5], [50, 25, 25])).toBeGreaterThan(0.2);
    const mix = seasonMix([0.5, 0.5], [[1, 0], [0, 1], null], [3, 1, 0]);
    expect(Array.from(mix)).toEqual([0.75, 0.25]);
    expect(Array.from(seasonMix([0.5, 0.5], [null, null], [0, 0]))).toEqual([0.5, 0.5]);
  });

  it('expectedOutcome is max(p, 1 - p) and p(1 - p) for a calibrated p at 0.5, and follows the threshold', () => {
    for (const p of [0.1, 0.4, 0.5, 0.9]) {
      const e = expectedOutcome(p, p, 0.5);
      expect(e.correct).toBeCloseTo(p >= 0.5 ? p : 1 - p, 12);
      expect(e.brier).toBeCloseTo(p * (1 - p), 12);
    }
    // At threshold 0.3, p = 0.4 is a "rain" decision: right with probability 0.4.
    expect(expectedOutcome(0.4, 0.4, 0.3).correct).toBeCloseTo(0.4, 12);
  });

  it("calibrated pulls p towards its bin's observed rate, less so for a thin bin", () => {
    const bins = Array.from({ length: 10 }, () => ({ n: 0, meanP: 0, meanY: 0 }));
    bins[7] = { n: 800, meanP: 0.75, meanY: 0.6 };
    bins[2] = { n: 10, meanP: 0.25, meanY: 0.9 };
    expect(calibrated(bins, 0.75, 200)).toBeCloseTo(0.75 - 0.15 * (800 / 1000), 12);
    expect(calibrated(bins, 0.25, 200)).toBeCloseTo(0.25 + 0.65 * (10 / 210), 12);
    expect(calibrated(bins, 0.05, 200)).toBe(0.05);
  });

  it('quantiles, medians and probability bins', () => {
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantileSorted([1, 2], 0.25)).toBe(1.25);
    expect(quantileSorted([], 0.5)).toBeNaN();
    expect(medianInPlace([4, 1, 3, 2])).toBe(2.5);
    expect([0, 0.05, 0.1, 0.55, 0.9999, 1].map(probabilityBin)).toEqual([0, 0, 1, 5, 9, 9]);
  });
});

describe('permutationImportance', () => {
  it('credits the column the model uses and nothing to the one it ignores', () => {
    const n = 2000;
    const random = normals(9);
    const data = new Float64Array(3 * n);
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = random();
      data[n + i] = random();
      target[i] = data[i]! > 0 ? 1 : 0;
    }
    const dataset: Dataset = { featureNames: ['used', 'ignored'], nRows: n, data };
    const predict = (d: Dataset) => {
      const out = new Float64Array(d.nRows);
      for (let i = 0; i < d.nRows; i++) out[i] = d.data[i]! > 0 ? 0.9 : 0.1;
      return out;
    };
    const importance = permutationImportance(predict, dataset, target);
    expect(importance[0]).toBeGreaterThan(0.5);
    expect(importance[1]).toBe(0);
    // The data is not changed by the shuffles.
    expect(dataset.data[0]).toBe(data[0]);
  });

  it("measures a regression model's reliance by its squared error", () => {
    const n = 2000;
    const random = normals(19);
    const data = new Float64Array(2 * n);
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = random();
      data[n + i] = random();
      target[i] = 3 * data[i]!;
    }
    const dataset: Dataset = { featureNames: ['used', 'ignored'], nRows: n, data };
    const predict = (d: Dataset) => Float64Array.from(d.data.subarray(0, d.nRows), (x) => 3 * x);
    const importance = permutationImportance(predict, dataset, target, 42, 'squaredError');
    // Shuffling x of unit variance costs E[(3x - 3x')²] = 18.
    expect(importance[0]).toBeGreaterThan(15);
    expect(importance[1]).toBe(0);
  });
});

describe('the drift reference of a regression model', () => {
  const ref = syntheticRegressionReference();

  it('keeps the validation errors in place of probabilities, and the same feature side', () => {
    expect(ref.prediction).toBeNull();
    expect(ref.performance).toBeNull();
    expect(ref.errors!.n).toBe(600);
    expect(ref.errors!.rmse).toBeCloseTo(2, 0);
    expect(ref.errors!.mae).toBeLessThan(ref.errors!.rmse);
    expect(ref.errors!.rmseRatioSd).not.toBeNull();
    expect(ref.columns.map((c) => c.name)).toEqual(syntheticReference().columns.map((c) => c.name));
  });

  it('survives JSON and parses back; a classifier reference without performance is refused', () => {
    expect(parseDriftReference(JSON.parse(JSON.stringify(ref)))).toEqual(ref);
    const classifier = JSON.parse(JSON.stringify(syntheticReference())) as Record<string, unknown>;
    expect(() => parseDriftReference({ ...classifier, performance: null })).toThrow(DriftReferenceError);
    expect(() => parseDriftReference({ ...ref, errors: { rmse: 'x' } })).toThrow(DriftReferenceError);
  });
});
