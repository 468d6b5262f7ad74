/**
 * Outlier clipping learned once, at training time, and stored with the model: the same bounds then apply
 * to every streamed row. Bounds per batch would make a row's value depend on its neighbours in the batch.
 */
import type { Dataset } from '../../ml/model.ts';
import { UNCLIPPED_FEATURES } from './feature-set.ts';
import { quantileSorted, sortedColumn } from '../../ml/quantiles.ts';
import { TypedError, type TypedErrorOptions } from '../../platform/errors.ts';

/** JSON form stored next to the model artifact. `null` = no bound (unclipped feature or no data). */
export interface ClipBounds {
  format: 'rainstream.clip';
  formatVersion: 1;
  featureNames: string[];
  lowerQ: number;
  upperQ: number;
  lower: (number | null)[];
  upper: (number | null)[];
}

export class ClipBoundsError extends TypedError<'CLIP_BOUNDS'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('CLIP_BOUNDS', message, options);
  }
}

export interface FitClippingOptions {
  /** Features left alone; defaults to the codes, flags, counts and angles of the feature set. */
  readonly unclipped?: ReadonlySet<string>;
}

export function fitClipping(
  dataset: Dataset,
  lowerQ = 0.001,
  upperQ = 0.999,
  options: FitClippingOptions = {},
): ClipBounds {
  if (!(lowerQ >= 0 && lowerQ < upperQ && upperQ <= 1)) {
    throw new ClipBoundsError(`need 0 <= lowerQ < upperQ <= 1, got ${lowerQ}, ${upperQ}`);
  }
  const unclipped = options.unclipped ?? UNCLIPPED_FEATURES;
  const lower: (number | null)[] = [];
  const upper: (number | null)[] = [];
  dataset.featureNames.forEach((name, col) => {
    const sorted = unclipped.has(name) ? new Float64Array(0) : sortedColumn(dataset, col);
    lower.push(sorted.length === 0 ? null : quantileSorted(sorted, lowerQ));
    upper.push(sorted.length === 0 ? null : quantileSorted(sorted, upperQ));
  });
  return {
    format: 'rainstream.clip',
    formatVersion: 1,
    featureNames: [...dataset.featureNames],
    lowerQ,
    upperQ,
    lower,
    upper,
  };
}

/** Bounds aligned to `featureNames` (a model's columns) as typed arrays, ±Infinity where unbounded. */
export interface AlignedBounds {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

export function alignBounds(bounds: ClipBounds, featureNames: readonly string[]): AlignedBounds {
  const at = new Map(bounds.featureNames.map((n, i) => [n, i]));
  const lower = new Float64Array(featureNames.length);
  const upper = new Float64Array(featureNames.length);
  featureNames.forEach((name, i) => {
    const j = at.get(name);
    if (j === undefined) throw new ClipBoundsError(`clip bounds do not name feature ${JSON.stringify(name)}`);
    lower[i] = bounds.lower[j] ?? -Infinity;
    upper[i] = bounds.upper[j] ?? Infinity;
  });
  return { lower, upper };
}

/**
 * Clips `values` (in the order of `bounds.featureNames`) into `out`, which may be `values` itself to clip in
 * place without allocating. NaN stays NaN: missing is not an outlier.
 */
export function applyClipping(
  values: ArrayLike<number>,
  bounds: ClipBounds | AlignedBounds,
  out: Float64Array | number[] = new Float64Array(values.length),
): Float64Array | number[] {
  const { lower, upper } = 'format' in bounds ? alignBounds(bounds, bounds.featureNames) : bounds;
  if (values.length !== lower.length) {
    throw new ClipBoundsError(`row has ${values.length} values, bounds cover ${lower.length} features`);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = v < lower[i]! ? lower[i]! : v > upper[i]! ? upper[i]! : v;
  }
  return out;
}

/** A clipped copy of `dataset` (same precision); features must match the bounds by name. */
export function clipDataset(dataset: Dataset, bounds: ClipBounds): Dataset {
  const { lower, upper } = alignBounds(bounds, dataset.featureNames);
  const { nRows, data } = dataset;
  const out = data instanceof Float64Array ? new Float64Array(data.length) : new Float32Array(data.length);
  for (let c = 0; c < dataset.featureNames.length; c++) {
    const lo = lower[c]!;
    const hi = upper[c]!;
    const from = c * nRows;
    for (let r = from; r < from + nRows; r++) {
      const v = data[r]!;
      out[r] = v < lo ? lo : v > hi ? hi : v;
    }
  }
  return { featureNames: dataset.featureNames, nRows, data: out };
}

/** Validates stored bounds (from the registry) before use. */
export function parseClipBounds(json: unknown): ClipBounds {
  const b = json as Partial<ClipBounds> | null;
  const bound = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
  if (
    b === null ||
    typeof b !== 'object' ||
    b.format !== 'rainstream.clip' ||
    b.formatVersion !== 1 ||
    !Array.isArray(b.featureNames) ||
    !b.featureNames.every((n) => typeof n === 'string') ||
    !Array.isArray(b.lower) ||
    !Array.isArray(b.upper) ||
    b.lower.length !== b.featureNames.length ||
    b.upper.length !== b.featureNames.length ||
    !b.lower.every(bound) ||
    !b.upper.every(bound) ||
    typeof b.lowerQ !== 'number' ||
    typeof b.upperQ !== 'number'
  ) {
    throw new ClipBoundsError('not rainstream.clip v1 bounds');
  }
  return b as ClipBounds;
}
