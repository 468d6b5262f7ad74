import { describe, expect, it } from 'vitest';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import {
  binDataset,
  binOf,
  edgesFromSorted,
  fitBinEdges,
  MISSING_BIN,
  thresholdOfBin,
  valueBinCount,
} from '../../../../lib/ml/binning.ts';
import { Rng } from '../../../../lib/ml/tree-rng.ts';

describe('edgesFromSorted', () => {
  it('gives one bin per distinct value, cut at midpoints, when there are few', () => {
    const edges = edgesFromSorted(Float64Array.of(1, 1, 2, 4, 4, 4), 255);
    expect(Array.from(edges)).toEqual([1.5, 3]);
  });

  it('cuts at quantiles when there are more distinct values than bins', () => {
    const values = Float64Array.from({ length: 10_000 }, (_, i) => i);
    const edges = edgesFromSorted(values, 10);
    expect(edges.length).toBe(9);
    const counts = new Array(10).fill(0);
    for (const v of values) counts[binOf(edges, v)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(1);
  });

  it('never leaves an empty last bin when the top values repeat', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => (i < 500 ? i : 999));
    const edges = edgesFromSorted(values, 20);
    for (let i = 1; i < edges.length; i++) expect(edges[i]).toBeGreaterThan(edges[i - 1]!);
    expect(edges[edges.length - 1]).toBeLessThan(999);
  });

  it('has no edges for an empty or constant column', () => {
    expect(edgesFromSorted(new Float64Array(0), 255).length).toBe(0);
    expect(edgesFromSorted(Float64Array.of(3, 3, 3), 255).length).toBe(0);
  });
});

describe('binOf and thresholdOfBin', () => {
  const edges = Float64Array.of(0.5, 1.5, 2.5);

  it('puts a value equal to an edge in the lower bin and NaN in the missing bin', () => {
    expect(binOf(edges, 0.5)).toBe(0);
    expect(binOf(edges, 0.50001)).toBe(1);
    expect(binOf(edges, -1e300)).toBe(0);
    expect(binOf(edges, 1e300)).toBe(3);
    expect(binOf(edges, Infinity)).toBe(3);
    expect(binOf(edges, NaN)).toBe(MISSING_BIN);
  });

  it('agrees with the raw threshold: bin <= b exactly when x <= threshold(b)', () => {
    const rng = new Rng(7);
    const sorted = Float64Array.from({ length: 5000 }, () => Math.round(rng.next() * 1000) / 10).sort();
    const e = edgesFromSorted(sorted, 64);
    let disagreements = 0;
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const x = Math.round(rng.next() * 1100 - 50) / 10;
      for (let b = 0; b < valueBinCount(e); b++, checked++) {
        if (binOf(e, x) <= b !== x <= thresholdOfBin(e, b)) disagreements++;
      }
    }
    expect(checked).toBeGreaterThan(100_000);
    expect(disagreements).toBe(0);
  });
});

describe('fitBinEdges and binDataset', () => {
  const n = 300;
  const data = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    data[i] = i % 7 === 0 ? NaN : i;
    data[n + i] = i % 3;
  }
  const ds = { featureNames: ['a', 'b'], nRows: n, data };

  it('learns edges per feature from the present values and bins column-major', () => {
    const edges = fitBinEdges(ds, { maxBins: 16, sampleSize: 200_000, seed: 0 });
    expect(edges[0]!.length).toBe(15);
    expect(Array.from(edges[1]!)).toEqual([0.5, 1.5]);
    const bins = binDataset(ds, edges);
    expect(bins.length).toBe(2 * n);
    expect(bins[0]).toBe(MISSING_BIN);
    expect(bins[1]).toBe(0);
    expect(bins[n + 5]).toBe(2);
  });

  it('subsamples large inputs deterministically from the seed', () => {
    const small = { maxBins: 32, sampleSize: 100, seed: 3 };
    const a = fitBinEdges(ds, small);
    const b = fitBinEdges(ds, small);
    const c = fitBinEdges(ds, { ...small, seed: 4 });
    expect(Array.from(a[0]!)).toEqual(Array.from(b[0]!));
    expect(Array.from(a[0]!)).not.toEqual(Array.from(c[0]!));
  });

  it('rejects a bin count outside 2..255 and a wrongly sized matrix', () => {
    expect(() => fitBinEdges(ds, { maxBins: 256, sampleSize: 10, seed: 0 })).toThrow(ModelParamsError);
    expect(() => fitBinEdges({ ...ds, nRows: n + 1 })).toThrow(ModelParamsError);
  });
});
