/** Quantiles of one column of a column-major Dataset, ignoring missing values (NaN). */
import type { Dataset } from './model.ts';

/** The non-NaN values of column `col`, sorted ascending. */
export function sortedColumn(dataset: Dataset, col: number): Float64Array {
  const { nRows, data } = dataset;
  const out = new Float64Array(nRows);
  let n = 0;
  const from = col * nRows;
  for (let r = 0; r < nRows; r++) {
    const v = data[from + r]!;
    if (v === v) out[n++] = v;
  }
  return out.subarray(0, n).sort();
}

/**
 * Quantile `q` of ascending `sorted` with linear interpolation between order statistics (type 7, the
 * default of numpy and R). NaN when there are no values.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * The smallest value with at least a share `q` of values at or below it (the inverted CDF, type 1):
 * always a value of the data, so bin edges of a discrete feature fall on its values, not between them.
 */
export function orderStatistic(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
}
