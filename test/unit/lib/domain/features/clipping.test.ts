import { describe, expect, it } from 'vitest';
import {
  ClipBoundsError,
  alignBounds,
  applyClipping,
  clipDataset,
  fitClipping,
  parseClipBounds,
} from '../../../../../lib/domain/features/clipping.ts';
import { orderStatistic, quantileSorted } from '../../../../../lib/ml/quantiles.ts';
import type { Dataset } from '../../../../../lib/ml/model.ts';

/** Columns: rainfall 0..999 plus one 5000 mm outlier, a station code, a column with no values. */
function training(): Dataset {
  const n = 1001;
  const data = new Float64Array(n * 3);
  for (let r = 0; r < n; r++) {
    data[r] = r === 1000 ? 5000 : r;
    data[n + r] = r % 49;
    data[2 * n + r] = NaN;
  }
  return { featureNames: ['rainfall', 'locationCode', 'sunshine'], nRows: n, data };
}

describe('quantileSorted', () => {
  it('interpolates between order statistics like numpy (type 7)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(quantileSorted([1, 2, 3, 4], 1)).toBe(4);
    expect(quantileSorted([10, 20], 0.25)).toBe(12.5); // numpy.quantile([10, 20], 0.25)
    expect(quantileSorted([], 0.5)).toBeNaN();
  });

  it('takes data values for order statistics (inverted CDF), so discrete cut points fall on values', () => {
    const rain = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
    expect([0.1, 0.7, 0.8, 0.9].map((q) => orderStatistic(rain, q))).toEqual([0, 0, 1, 1]);
    expect(quantileSorted(rain, 0.7)).toBeCloseTo(0.3, 12); // interpolation would cut between 0 and 1
    expect(orderStatistic([5], 0)).toBe(5);
    expect(orderStatistic([], 0.5)).toBeNaN();
  });
});

describe('clipping', () => {
  it('learns bounds at training quantiles, leaves codes and empty columns unbounded', () => {
    const b = fitClipping(training());
    expect(b.featureNames).toEqual(['rainfall', 'locationCode', 'sunshine']);
    expect(b.lower[0]).toBeCloseTo(1, 10); // 0.001 * 1000 = 1st order statistic
    expect(b.upper[0]).toBeCloseTo(999, 10); // 0.999 * 1000 = 999.0: the outlier is above it
    expect(b.lower[1]).toBeNull();
    expect(b.upper[1]).toBeNull();
    expect(b.lower[2]).toBeNull();
    expect(() => fitClipping(training(), 0.9, 0.1)).toThrow(ClipBoundsError);
  });

  it('clips later rows to the learned bounds, not to their own batch, and keeps NaN missing', () => {
    const b = fitClipping(training());
    const stored = parseClipBounds(JSON.parse(JSON.stringify(b)));
    expect(Array.from(applyClipping([9000, 60, 7], stored))).toEqual([999, 60, 7]);
    expect(Array.from(applyClipping([-5, NaN, NaN], stored))).toEqual([1, NaN, NaN]);
    const row = new Float64Array([2000, 3, 1]);
    expect(applyClipping(row, alignBounds(b, b.featureNames), row)).toBe(row);
    expect(Array.from(row)).toEqual([999, 3, 1]);
    expect(() => applyClipping([1, 2], b)).toThrow(ClipBoundsError);
  });

  it('clips a dataset into a copy, matching columns by name', () => {
    const b = fitClipping(training());
    const shuffled: Dataset = {
      featureNames: ['locationCode', 'rainfall'],
      nRows: 2,
      data: new Float32Array([60, 1, 9000, 0]),
    };
    const clipped = clipDataset(shuffled, b);
    expect(Array.from(clipped.data)).toEqual([60, 1, 999, 1]);
    expect(clipped.data).toBeInstanceOf(Float32Array);
    expect(Array.from(shuffled.data)).toEqual([60, 1, 9000, 0]);
    expect(() =>
      clipDataset({ featureNames: ['humidity3pm'], nRows: 0, data: new Float64Array(0) }, b),
    ).toThrow(/humidity3pm/);
  });

  it('refuses stored bounds that are not rainstream.clip v1', () => {
    const b = fitClipping(training());
    for (const bad of [
      null,
      {},
      { ...b, format: 'x' },
      { ...b, lower: [1] },
      { ...b, upper: [1, 'a', null] },
    ]) {
      expect(() => parseClipBounds(bad)).toThrow(ClipBoundsError);
    }
  });
});
