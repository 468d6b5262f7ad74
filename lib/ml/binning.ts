/**
 * Quantile binning for the histogram tree learners. Each feature gets at most 255 value bins (0..254)
 * plus bin 255 for missing values, so a binned value fits a byte and a histogram has a fixed stride.
 *
 * Bin b holds the values x with edges[b-1] < x <= edges[b]; the last bin is open to +Infinity. A split
 * "bin <= b" is therefore the raw test "x <= edges[b]", which lets prediction skip binning entirely.
 */
import { ModelParamsError } from './artifact.ts';
import type { Dataset } from './model.ts';
import { Rng } from './tree-rng.ts';

export const MAX_VALUE_BINS = 255;
export const MISSING_BIN = 255;
/** Histogram stride per feature: the value bins plus the missing bin. */
export const BIN_STRIDE = 256;

export interface BinningOptions {
  /** Value bins per feature, 2..255. */
  readonly maxBins: number;
  /** Rows used to find the quantiles; larger data sets are subsampled (scikit-learn uses 200,000 too). */
  readonly sampleSize: number;
  readonly seed: number;
}

export const DEFAULT_BINNING: BinningOptions = { maxBins: MAX_VALUE_BINS, sampleSize: 200_000, seed: 0 };

/**
 * Upper bin edges of one feature from its sorted non-missing values. Few distinct values: one bin each,
 * cut at midpoints. Otherwise cut at evenly spaced quantiles (midpoint interpolation, as NumPy's
 * percentile 'midpoint'), duplicates removed.
 */
export function edgesFromSorted(sorted: Float64Array, maxBins: number): Float64Array {
  const n = sorted.length;
  if (n === 0) return new Float64Array(0);
  let distinct = 1;
  for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= maxBins) {
    for (let i = 1; i < n; i++) {
      if (sorted[i] !== sorted[i - 1]) out.push(midpoint(sorted[i - 1]!, sorted[i]!));
    }
    return Float64Array.from(out);
  }
  for (let q = 1; q < maxBins; q++) {
    const pos = (q / maxBins) * (n - 1);
    const cut = midpoint(sorted[Math.floor(pos)]!, sorted[Math.ceil(pos)]!);
    // A cut at or above the maximum would leave the last bin empty.
    if (cut >= sorted[n - 1]!) break;
    if (out.length === 0 || cut > out[out.length - 1]!) out.push(cut);
  }
  return Float64Array.from(out);
}

function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  // Rounding (or an infinite end) can push the midpoint onto b or make it NaN; a then still separates them.
  return m >= a && m < b ? m : a;
}

/** Bin edges for every feature of a column-major data set. */
export function fitBinEdges(data: Dataset, options: BinningOptions = DEFAULT_BINNING): Float64Array[] {
  const { nRows } = data;
  const nFeatures = data.featureNames.length;
  if (options.maxBins < 2 || options.maxBins > MAX_VALUE_BINS || !Number.isInteger(options.maxBins)) {
    throw new ModelParamsError(
      `maxBins must be an integer in [2, ${MAX_VALUE_BINS}], got ${options.maxBins}`,
    );
  }
  if (data.data.length !== nRows * nFeatures) {
    throw new ModelParamsError(`data holds ${data.data.length} values, expected ${nRows} x ${nFeatures}`);
  }
  const rows = sampleRows(nRows, options.sampleSize, options.seed);
  const values = new Float64Array(rows ? rows.length : nRows);
  const edges: Float64Array[] = [];
  for (let f = 0; f < nFeatures; f++) {
    const base = f * nRows;
    let m = 0;
    if (rows) {
      for (let i = 0; i < rows.length; i++) {
        const v = data.data[base + rows[i]!]!;
        if (v === v) values[m++] = v;
      }
    } else {
      for (let i = 0; i < nRows; i++) {
        const v = data.data[base + i]!;
        if (v === v) values[m++] = v;
      }
    }
    const sorted = values.subarray(0, m).sort();
    edges.push(edgesFromSorted(sorted, options.maxBins));
  }
  return edges;
}

function sampleRows(nRows: number, sampleSize: number, seed: number): Int32Array | null {
  if (nRows <= sampleSize) return null;
  // Partial Fisher-Yates: a uniform sample without replacement, then sorted for cache-friendly reads.
  const perm = new Int32Array(nRows);
  for (let i = 0; i < nRows; i++) perm[i] = i;
  const rng = new Rng(seed, 0x62696e73);
  for (let i = 0; i < sampleSize; i++) {
    const j = i + rng.int(nRows - i);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm.subarray(0, sampleSize).sort();
}

/** Bin of one value: the first b with x <= edges[b], or edges.length; MISSING_BIN for NaN. */
export function binOf(edges: Float64Array, x: number): number {
  if (x !== x) return MISSING_BIN;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Bins a column-major data set into a column-major byte matrix (bins[f * nRows + row]). */
export function binDataset(data: Dataset, edges: readonly Float64Array[]): Uint8Array {
  const { nRows } = data;
  const nFeatures = edges.length;
  if (data.featureNames.length !== nFeatures || data.data.length !== nRows * nFeatures) {
    throw new ModelParamsError(`data has ${data.featureNames.length} features, the bin edges ${nFeatures}`);
  }
  const out = new Uint8Array(nRows * nFeatures);
  for (let f = 0; f < nFeatures; f++) {
    const e = edges[f]!;
    const base = f * nRows;
    for (let i = 0; i < nRows; i++) out[base + i] = binOf(e, data.data[base + i]!);
  }
  return out;
}

/** Number of value bins of a feature (its missing bin is always MISSING_BIN). */
export function valueBinCount(edges: Float64Array): number {
  return edges.length + 1;
}

/**
 * Raw threshold of the split "bin <= b": x <= threshold goes left. The last value bin has no upper edge,
 * so a split there (every present value left, missing right) gets +Infinity.
 */
export function thresholdOfBin(edges: Float64Array, bin: number): number {
  return bin < edges.length ? edges[bin]! : Infinity;
}
