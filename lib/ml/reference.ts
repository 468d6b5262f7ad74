/**
 * The drift reference captured when a model is trained and stored with it: what the features and the
 * predicted probabilities looked like, and how well the model did, so the drift stage can compare each
 * live week against the champion's own baseline rather than against an arbitrary past week.
 *
 * Weather is seasonal: a January week compared with the whole year's temperatures "drifts" every week
 * (measured on the full replay: minTemp alerted in 71 of 77 weeks against an all-year reference). So the
 * expected proportions are also kept per calendar month, and a week is held to the months its days fall
 * in; the all-year proportions remain for months the training data lacks.
 */
import { orderStatistic, sortedColumn } from './quantiles.ts';
import type { Dataset } from './model.ts';

/**
 * Bins of one feature. `edges` are ascending cut points; value x falls in the first bin i with
 * x <= edges[i], else in bin edges.length (above the last edge); NaN falls in the missing bin,
 * the last one. So `expected` has edges.length + 2 proportions summing to 1.
 */
export interface FeatureBins {
  name: string;
  edges: number[];
  expected: number[];
  /** Proportions per month (index 0 = January); null for a month with fewer than MIN_MONTH_ROWS rows. */
  byMonth: (number[] | null)[];
}

export interface DriftReference {
  format: 'rainstream.drift-reference';
  formatVersion: 1;
  featureNames: string[];
  features: FeatureBins[];
  /**
   * Predicted probabilities in PROBABILITY_BINS equal bins on [0, 1]: `expected` on the validation window,
   * `byMonth` from the probabilities on the training rows when the trainer passed them (else all null).
   */
  prediction: { expected: number[]; byMonth: (number[] | null)[] };
  /** On the validation window: the accuracy at `threshold` and the Brier score live weeks are held to. */
  performance: { n: number; threshold: number; accuracy: number; brier: number };
  /** Rows the feature bins were learned from. */
  rows: number;
}

export const PROBABILITY_BINS = 10;
export const MONTHS = 12;
/** A month's proportions need about 20 rows per bin to be a baseline rather than noise. */
export const MIN_MONTH_ROWS = 200;
/** The feature a row's month is read from. */
export const MONTH_FEATURE = 'month';
/** Deciles: fine enough to see a shift, coarse enough that a week (~340 rows) fills every bin. */
export const FEATURE_QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export class DriftReferenceError extends Error {
  readonly code = 'DRIFT_REFERENCE';
}

/** Bin of `x` for `edges` (see FeatureBins); edges.length + 1 is the missing bin. */
export function binOf(edges: readonly number[], x: number): number {
  if (x !== x) return edges.length + 1;
  let i = 0;
  while (i < edges.length && x > edges[i]!) i++;
  return i;
}

/** Bin of a probability: [0, 0.1), [0.1, 0.2), ..., [0.9, 1]. */
export function probabilityBin(p: number): number {
  const b = Math.floor(p * PROBABILITY_BINS);
  return b < 0 ? 0 : b >= PROBABILITY_BINS ? PROBABILITY_BINS - 1 : b;
}

export interface BuildReferenceOptions {
  /** Decision threshold the accuracy is measured at; the predictor's configured one. Default 0.5. */
  readonly threshold?: number;
  /**
   * The model's probabilities on the rows of `dataset` (in-sample), for the per-month prediction
   * proportions: the validation window alone covers only a couple of months.
   */
  readonly trainingProbabilities?: ArrayLike<number>;
}

/** Month index 0..11 of each row from the dataset's month feature, -1 where absent or unknown. */
function monthIndexes(dataset: Dataset): Int8Array {
  const out = new Int8Array(dataset.nRows).fill(-1);
  const col = dataset.featureNames.indexOf(MONTH_FEATURE);
  if (col < 0) return out;
  for (let r = 0; r < dataset.nRows; r++) {
    const m = dataset.data[col * dataset.nRows + r]!;
    if (Number.isInteger(m) && m >= 1 && m <= MONTHS) out[r] = m - 1;
  }
  return out;
}

/** Proportions per month from per-month bin counts; null for months below MIN_MONTH_ROWS. */
function monthlyProportions(counts: Float64Array, bins: number): (number[] | null)[] {
  const out: (number[] | null)[] = [];
  for (let m = 0; m < MONTHS; m++) {
    let n = 0;
    for (let b = 0; b < bins; b++) n += counts[m * bins + b]!;
    out.push(n < MIN_MONTH_ROWS ? null : Array.from(counts.subarray(m * bins, (m + 1) * bins), (c) => c / n));
  }
  return out;
}

/**
 * Feature bins from `dataset` (the training rows: deciles of each column taken as data values, repeated cut
 * points merged, which happens for discrete features like cloud octas or RainToday); the probability histogram and performance
 * from `probabilities` and `labels` (0/1), the model's output on the validation window. The two need not
 * have the same rows.
 */
export function buildReference(
  dataset: Dataset,
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: BuildReferenceOptions = {},
): DriftReference {
  const threshold = options.threshold ?? 0.5;
  if (probabilities.length !== labels.length) {
    throw new DriftReferenceError(`${probabilities.length} probabilities for ${labels.length} labels`);
  }
  if (probabilities.length === 0)
    throw new DriftReferenceError('no validation rows to take performance from');
  const { nRows, data } = dataset;
  const months = monthIndexes(dataset);
  const features = dataset.featureNames.map((name, col): FeatureBins => {
    const sorted = sortedColumn(dataset, col);
    const edges: number[] = [];
    for (const q of FEATURE_QUANTILES) {
      const e = orderStatistic(sorted, q);
      if (e === e && (edges.length === 0 || e > edges[edges.length - 1]!)) edges.push(e);
    }
    const bins = edges.length + 2;
    const counts = new Float64Array(bins);
    const monthCounts = new Float64Array(MONTHS * bins);
    for (let r = 0; r < nRows; r++) {
      const b = binOf(edges, data[col * nRows + r]!);
      counts[b]! += 1;
      if (months[r]! >= 0) monthCounts[months[r]! * bins + b]! += 1;
    }
    return {
      name,
      edges,
      expected: Array.from(counts, (c) => (nRows === 0 ? 0 : c / nRows)),
      byMonth: monthlyProportions(monthCounts, bins),
    };
  });

  const predictionByMonth = new Float64Array(MONTHS * PROBABILITY_BINS);
  const trainingProbabilities = options.trainingProbabilities;
  if (trainingProbabilities !== undefined) {
    if (trainingProbabilities.length !== nRows) {
      throw new DriftReferenceError(
        `${trainingProbabilities.length} training probabilities for ${nRows} rows`,
      );
    }
    for (let r = 0; r < nRows; r++) {
      const p = trainingProbabilities[r]!;
      if (!(p >= 0 && p <= 1))
        throw new DriftReferenceError(`training probability ${p} at row ${r} is outside [0, 1]`);
      if (months[r]! >= 0) predictionByMonth[months[r]! * PROBABILITY_BINS + probabilityBin(p)]! += 1;
    }
  }

  const probCounts = new Float64Array(PROBABILITY_BINS);
  let correct = 0;
  let brierSum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    const y = labels[i]!;
    if (!(p >= 0 && p <= 1)) throw new DriftReferenceError(`probability ${p} at row ${i} is outside [0, 1]`);
    if (y !== 0 && y !== 1) throw new DriftReferenceError(`label ${y} at row ${i} is not 0 or 1`);
    probCounts[probabilityBin(p)]! += 1;
    if ((p >= threshold ? 1 : 0) === y) correct++;
    brierSum += (p - y) * (p - y);
  }
  const n = probabilities.length;
  return {
    format: 'rainstream.drift-reference',
    formatVersion: 1,
    featureNames: [...dataset.featureNames],
    features,
    prediction: {
      expected: Array.from(probCounts, (c) => c / n),
      byMonth: monthlyProportions(predictionByMonth, PROBABILITY_BINS),
    },
    performance: { n, threshold, accuracy: correct / n, brier: brierSum / n },
    rows: nRows,
  };
}

function isProportions(v: unknown, length?: number): v is number[] {
  return (
    Array.isArray(v) &&
    (length === undefined || v.length === length) &&
    v.every((x) => typeof x === 'number' && x >= 0 && x <= 1)
  );
}

function isMonthly(v: unknown, bins: number): boolean {
  return Array.isArray(v) && v.length === MONTHS && v.every((m) => m === null || isProportions(m, bins));
}

/** Validates a stored reference (from the registry) before the drift stage relies on its layout. */
export function parseDriftReference(json: unknown): DriftReference {
  const r = json as Partial<DriftReference> | null;
  const fail = (why: string): never => {
    throw new DriftReferenceError(`not a rainstream.drift-reference v1: ${why}`);
  };
  if (r === null || typeof r !== 'object') return fail('not an object');
  if (r.format !== 'rainstream.drift-reference' || r.formatVersion !== 1) fail('format tag');
  if (
    !Array.isArray(r.featureNames) ||
    !Array.isArray(r.features) ||
    r.features.length !== r.featureNames.length
  ) {
    fail('featureNames and features');
  }
  // References stored before per-month proportions existed read as "no month known": all-year bins.
  const noMonths = (): null[] => new Array<null>(MONTHS).fill(null);
  if (r.prediction !== undefined && r.prediction.byMonth === undefined) r.prediction.byMonth = noMonths();
  r.features!.forEach((f, i) => {
    if (f === null || typeof f !== 'object' || f.name !== r.featureNames![i]) fail(`feature ${i} name`);
    if (f.byMonth === undefined) f.byMonth = noMonths();
    if (
      !Array.isArray(f.edges) ||
      !f.edges.every((e, j) => Number.isFinite(e) && (j === 0 || e > f.edges[j - 1]!))
    ) {
      fail(`feature ${f.name} edges are not ascending numbers`);
    }
    if (!isProportions(f.expected, f.edges.length + 2)) fail(`feature ${f.name} expected proportions`);
    if (!isMonthly(f.byMonth, f.edges.length + 2)) fail(`feature ${f.name} monthly proportions`);
  });
  if (!isProportions(r.prediction?.expected, PROBABILITY_BINS)) fail('prediction proportions');
  if (!isMonthly(r.prediction?.byMonth, PROBABILITY_BINS)) fail('prediction monthly proportions');
  const perf = r.performance;
  if (
    perf === undefined ||
    !isProportions([perf.threshold, perf.accuracy, perf.brier]) ||
    typeof perf.n !== 'number'
  ) {
    fail('performance');
  }
  return r as DriftReference;
}
