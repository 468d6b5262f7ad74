/**
 * The drift reference, captured when a model is trained and stored with it: what the monitored columns
 * looked like per group (station) and season (month), how much each statistic the drift stage computes
 * varied between comparable chunks (weeks) of the training data, and how well and how calibrated the
 * model was on its validation window. The drift stage holds every live week to this, so each threshold is
 * the reference's own chunk-to-chunk variation (as NannyML does) rather than one constant for every column.
 *
 * The engine knows no weather: rows come with a group index, a season index and a chunk number, and the
 * caller (consumers/drift/reference.ts) says which columns to watch per group and pooled, ranked by
 * importance. What it computes, per watched column:
 * - per (group, season): mean and standard deviation of the values, from the most recent chunks (a
 *   station's instruments and surroundings change over the years; its last few years are its baseline);
 * - per group: which other groups' chunk anomalies predict its own (neighbours, with a slope each). A
 *   week's anomaly minus the median of its neighbours' scaled anomalies removes the weather every nearby
 *   station shares, so what remains is the station's own: measured on weatherAUS, weekly pressure
 *   anomalies spread 3.9 hPa around the monthly mean, residuals 0.8 hPa, which makes an 8 hPa sensor
 *   offset a 10-sigma event instead of a 2-sigma one;
 * - the residual's chunk-to-chunk spread per group, for one chunk and for two chunks together, and the
 *   z threshold above which a chunk of the reference breaches only with probability `alpha`;
 * - how many of the group's chunks held one repeated value (a sensor stuck on a value does that; a foggy
 *   mountain top at 100 % humidity does too, and then repetition is no finding there);
 * - the largest share of missing values in the group's recent chunks (a sensor that stops reporting);
 * - the spread of the pooled (all groups) chunk mean of standardized values, and of the pooled missing
 *   share's excess over what the groups' own missing rates predict.
 */
import type { Dataset } from './model.ts';
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

export const REFERENCE_FORMAT = 'rainstream.drift-reference';
export const REFERENCE_FORMAT_VERSION = 2;
export const SEASONS = 12;
export const PROBABILITY_BINS = 10;

export class DriftReferenceError extends TypedError<'DRIFT_REFERENCE'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('DRIFT_REFERENCE', message, options);
  }
}

/** A column the caller wants watched. */
export interface ColumnSpec {
  name: string;
  /** Share of the model's importance this column stands for (0..1), and its rank among watched columns. */
  importance: number;
  rank: number;
  /** Watched per group (sensor level: missing, shift, stuck). */
  perGroup: boolean;
  /** Watched pooled over every group (shift of the standardized mean, excess of missing values). */
  pooled: boolean;
  /**
   * Watched per group only as one of a combined set (an instrument's reading the model barely uses by
   * itself): judged with the set, never alone.
   */
  memberOnly?: boolean;
}

/** One neighbour of a group: its index and the slope of this group's anomaly on the neighbour's. */
export type Neighbour = [group: number, slope: number];

export interface GroupColumnReference {
  /** Share of missing values in the recent chunks. */
  missing: number;
  /** A chunk whose missing share exceeds this breaches; null when the group's recent chunks came close to 1. */
  missingThreshold: number | null;
  /** Chunks of the group whose values were all one value (with more than minChunkRows values). */
  repeats: number;
  neighbours: Neighbour[];
  /** Spread of the neighbour residual over one chunk and over two chunks; null without enough neighbours. */
  residualSd: number | null;
  residualSd2: number | null;
}

export interface ColumnReference extends ColumnSpec {
  /** Index of the column in the model's feature vector. */
  index: number;
  /** Per group x season (group * SEASONS + season): mean and sd of the values; null where too few rows. */
  mean: (number | null)[];
  sd: (number | null)[];
  groups: (GroupColumnReference | null)[];
  /** |residual / residualSd| above which a chunk breaches, one chunk and two chunks; null: never. */
  shiftThreshold: number | null;
  shiftThreshold2: number | null;
  /**
   * Share of all groups' chunks (with more than minChunkRows values) holding one repeated value. Where it
   * is not rare (cloud octas, a foggy summit's 100 % humidity), a repeated value is weather, and the
   * column is not judged "stuck".
   */
  repeatRate: number;
  /** Pooled chunk mean of standardized values: centre and half-width of the band that does not breach. */
  pooledShift: { centre: number; threshold: number | null };
  /** Pooled missing share minus the share the groups' own rates predict: half-width of the quiet band. */
  pooledMissingThreshold: number;
}

/**
 * Columns judged together per group: the readings of one instrument (a station's thermometer gives four
 * temperatures). A fault of the instrument moves all of them, so their standardized residuals averaged
 * stand out more than any one of them, while each column's own weather noise partly averages away.
 */
export interface CombinedReference {
  name: string;
  columns: string[];
  importance: number;
  rank: number;
  /** Per group: spread of the mean standardized residual over one chunk and over two; null when unknown. */
  groups: ({ residualSd: number | null; residualSd2: number | null } | null)[];
  shiftThreshold: number | null;
  shiftThreshold2: number | null;
}

export interface CombinedSpec {
  name: string;
  columns: readonly string[];
}

export interface CalibrationBin {
  n: number;
  meanP: number;
  meanY: number;
}

export interface DriftReference {
  format: typeof REFERENCE_FORMAT;
  formatVersion: typeof REFERENCE_FORMAT_VERSION;
  featureNames: string[];
  /** Group names (stations), in index order. */
  groups: string[];
  /** Watched columns, ranked by importance (rank 1 first). */
  columns: ColumnReference[];
  /** Per-group columns judged together (an instrument's readings). */
  combined: CombinedReference[];
  /**
   * Per-group columns that go missing together, in the order they are tried (a report of the day, then an
   * instrument): when most of a set stopped reporting at once, that is one finding, not one per column.
   */
  missingGroups: CombinedSpec[];
  /** Importance of every feature (share of the total), in featureNames order. */
  importance: number[];
  /**
   * Classification: the distribution of the predicted probabilities. Null for a regression model: it has
   * no probabilities to bin, and its forecast's distribution follows the season the features already show.
   */
  prediction: {
    /** Probability proportions per season (null where the season has too few rows) and over all. */
    expected: number[];
    bySeason: (number[] | null)[];
    /** PSI of a chunk against its season-mixed proportions above which it breaches; null: never. */
    psiThreshold: number | null;
  } | null;
  /** Classification: what the confidence-based estimate (CBPE) needs. Null for a regression model. */
  performance: {
    n: number;
    threshold: number;
    accuracy: number;
    brier: number;
    /** Validation window in PROBABILITY_BINS bins: the calibration the confidence-based estimate uses. */
    calibration: CalibrationBin[];
    /** Spread of (realized - estimated) accuracy between validation chunks; null with fewer than 3 chunks. */
    gapSd: number | null;
  } | null;
  /**
   * Regression: the validation window's errors, what the realized weekly errors are held against. There
   * is no estimate before labels for a regression model: without class probabilities no calibration says
   * how large its errors will be, so its weeks are judged once labeled, never estimated.
   */
  errors?: RegressionErrors;
  options: Required<ReferenceOptions>;
  rows: number;
}

export interface ReferenceOptions {
  /** Chunks (weeks) the means and missing shares come from, counted back from the last one. */
  recentChunks?: number;
  /** Neighbours per group. */
  neighbours?: number;
  /** Fewest chunks two groups must share for one to be the other's neighbour. */
  minOverlap?: number;
  /** Fewest present values for a chunk's mean (and, plus one, for its spread). */
  minChunkRows?: number;
  /** Fewest rows for a (group, season) mean. */
  minCellRows?: number;
  /** Probability that a reference chunk breaches the shift test (split over the one- and two-chunk windows). */
  alpha?: number;
  /** A column is judged "stuck" only where repeated-value chunks are rarer than this. */
  maxRepeatRate?: number;
  /** A chunk breaches "missing" above max(minMissingShare, the largest recent chunk share + missingMargin). */
  minMissingShare?: number;
  missingMargin?: number;
  /** Floor of the pooled missing excess threshold (one station of ~50 fully missing is 0.02). */
  minPooledMissing?: number;
  /** Floor of a z threshold: with heavy-tailed chunks the quantile alone can come out too low. */
  minZ?: number;
  /** Pooled statistics breach beyond this many chunk standard deviations. */
  pooledK?: number;
  /** Fewest rows for a pooled statistic of a chunk (the drift stage judges no pooled week with fewer). */
  minPooledRows?: number;
  /** Weight of the identity in the calibration of a probability bin, in rows. */
  calibrationPrior?: number;
}

export const DEFAULT_REFERENCE_OPTIONS: Required<ReferenceOptions> = {
  recentChunks: 156,
  neighbours: 5,
  minOverlap: 40,
  minChunkRows: 4,
  minCellRows: 20,
  alpha: 0.0005,
  maxRepeatRate: 0.001,
  minMissingShare: 0.85,
  missingMargin: 0.15,
  minPooledMissing: 0.1,
  minZ: 3,
  pooledK: 4,
  minPooledRows: 50,
  calibrationPrior: 200,
};

export interface RegressionErrors {
  n: number;
  rmse: number;
  mae: number;
  /** Spread of the weekly RMSE relative to the window's (RMSE_week / RMSE - 1); null with fewer than 3 weeks. */
  rmseRatioSd: number | null;
}

/** A classifier's outputs: its probabilities on the training rows and on the validation window. */
export interface ClassificationOutputs {
  /** The model's probabilities on the training rows, for the expected prediction distribution. */
  trainingProbabilities: ArrayLike<number>;
  /** The model on its validation window (out of sample): performance and calibration. */
  validation: { probabilities: ArrayLike<number>; labels: ArrayLike<number>; chunks?: Int32Array };
  /** Decision threshold of the predictor. */
  threshold: number;
  regression?: undefined;
}

/** A regression model's forecasts and targets on its validation window (out of sample). */
export interface RegressionOutputs {
  regression: { predictions: ArrayLike<number>; targets: ArrayLike<number>; chunks?: Int32Array };
  trainingProbabilities?: undefined;
  validation?: undefined;
  threshold?: undefined;
}

export type ReferenceInput = ReferenceInputBase & (ClassificationOutputs | RegressionOutputs);

export interface ReferenceInputBase {
  /** The training rows as the drift stage will see them (raw, before any clipping). */
  data: Dataset;
  /** Group index of each row (-1: none), season index 0..SEASONS-1, and chunk number (consecutive integers). */
  groups: Int32Array;
  groupNames: readonly string[];
  seasons: Int8Array | Int32Array;
  chunks: Int32Array;
  columns: readonly ColumnSpec[];
  /** Per-group columns to judge together as well (members not watched per group are left out). */
  combined?: readonly CombinedSpec[];
  /** Per-group columns that go missing together (members not watched per group are left out). */
  missingGroups?: readonly CombinedSpec[];
  /** Share of importance of every feature, in data.featureNames order. */
  importance: ArrayLike<number>;
  options?: ReferenceOptions;
}

export function probabilityBin(p: number): number {
  const b = Math.floor(p * PROBABILITY_BINS);
  return b < 0 ? 0 : b >= PROBABILITY_BINS ? PROBABILITY_BINS - 1 : b;
}

/** The value at quantile q (0..1) of ascending `sorted`, by linear interpolation; NaN when empty. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const at = Math.min(n - 1, Math.max(0, q * (n - 1)));
  const lo = Math.floor(at);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Median of a small list (sorted in place). */
export function medianInPlace(values: number[]): number {
  values.sort((a, b) => a - b);
  const n = values.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? values[n >> 1]! : (values[n / 2 - 1]! + values[n / 2]!) / 2;
}

function sdOf(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  return Math.sqrt(ss / (n - 1));
}

/** Five significant digits: the reference is stored as JSON, and the sixth digit of a weekly mean is noise. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(5)) : x;
}

const orNull = (x: number): number | null => (Number.isFinite(x) ? round(x) : null);

/**
 * The residual of a group's chunk anomaly against its neighbours: anomaly minus the median of the
 * neighbours' anomalies times their slopes. The median, not the mean, so that one neighbour with a fault
 * of its own moves the prediction by little. NaN with fewer than two neighbours present.
 */
export function neighbourResidual(
  anomaly: number,
  neighbours: readonly Neighbour[],
  anomalyOf: (group: number) => number,
  scratch: number[] = [],
): number {
  if (!(anomaly === anomaly)) return NaN;
  const predictions = scratch;
  predictions.length = 0;
  for (const [g, slope] of neighbours) {
    const a = anomalyOf(g);
    if (a === a) predictions.push(slope * a);
  }
  if (predictions.length < 2) return NaN;
  return anomaly - medianInPlace(predictions);
}

/**
 * An instrument's standardized residuals (one per reading) averaged: NaN unless at least two are known, so a
 * reading that stopped reporting leaves the others judged together.
 */
export function combinedValue(standardized: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (const z of standardized) {
    if (z === z) {
      sum += z;
      n++;
    }
  }
  return n >= 2 ? sum / n : NaN;
}

/** PSI of `counts` against proportions `expected` (both raised to 1e-4 where empty). */
export function psi(expected: ArrayLike<number>, counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return NaN;
  let value = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = Math.max(counts[i]! / total, 1e-4);
    const e = Math.max(expected[i]!, 1e-4);
    value += (a - e) * Math.log(a / e);
  }
  return value;
}

/** Proportions of the seasons in `seasonCounts`, mixed: what a chunk with that season make-up should look like. */
export function seasonMix(
  overall: readonly number[],
  bySeason: readonly (readonly number[] | null)[],
  seasonCounts: ArrayLike<number>,
): Float64Array {
  let n = 0;
  for (let s = 0; s < seasonCounts.length; s++) n += seasonCounts[s]!;
  const out = new Float64Array(overall.length);
  if (n === 0) {
    out.set(overall);
    return out;
  }
  for (let s = 0; s < seasonCounts.length; s++) {
    const w = seasonCounts[s]! / n;
    if (w === 0) continue;
    const p = bySeason[s] ?? overall;
    for (let b = 0; b < out.length; b++) out[b]! += w * p[b]!;
  }
  return out;
}

/**
 * Calibrated probability of the positive class for a model output p: the validation window's observed
 * rate in p's bin, pulled towards p itself by `prior` rows (a thin bin says little).
 */
export function calibrated(calibration: readonly CalibrationBin[], p: number, prior: number): number {
  const bin = calibration[probabilityBin(p)];
  if (bin === undefined || bin.n === 0) return p;
  const c = p + (bin.n * (bin.meanY - bin.meanP)) / (bin.n + prior);
  return c < 0 ? 0 : c > 1 ? 1 : c;
}

/**
 * Confidence-based performance of one prediction (CBPE): with c the calibrated probability of rain and
 * decision p >= threshold, the chance that the decision is right, and the expected squared error of p.
 * At threshold 0.5 and c = p these are max(p, 1 - p) and p(1 - p).
 */
export function expectedOutcome(p: number, c: number, threshold: number): { correct: number; brier: number } {
  return {
    correct: p >= threshold ? c : 1 - c,
    brier: c * (1 - p) * (1 - p) + (1 - c) * p * p,
  };
}

/** Rows of each column as dense group x chunk anomaly sums, for one column. */
interface ChunkGrid {
  firstChunk: number;
  nChunks: number;
  /** group * nChunks + (chunk - firstChunk) */
  present: Float64Array;
  /** Values present (whether or not their group-season mean is known). */
  valued: Float64Array;
  rows: Float64Array;
  sum: Float64Array;
  sumSq: Float64Array;
  /** Standardized sums (z = anomaly / sd of the group-season). */
  zSum: Float64Array;
  zCount: Float64Array;
  /** Rows whose group's missing rate is known, and the sum of those rates (the expected missing count). */
  expectedMissing: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

export function buildDriftReference(input: ReferenceInput): DriftReference {
  const o = { ...DEFAULT_REFERENCE_OPTIONS, ...input.options };
  const { data, groups, seasons, chunks } = input;
  const n = data.nRows;
  const G = input.groupNames.length;
  if (groups.length !== n || seasons.length !== n || chunks.length !== n) {
    throw new DriftReferenceError(`groups, seasons and chunks need ${n} entries each`);
  }
  if (input.regression !== undefined) {
    if (input.regression.predictions.length !== input.regression.targets.length) {
      throw new DriftReferenceError('validation predictions and targets differ in length');
    }
    if (input.regression.predictions.length === 0) {
      throw new DriftReferenceError('no validation rows to take errors from');
    }
  } else {
    if (input.trainingProbabilities.length !== n) {
      throw new DriftReferenceError(
        `${input.trainingProbabilities.length} training probabilities for ${n} rows`,
      );
    }
    if (input.validation.probabilities.length !== input.validation.labels.length) {
      throw new DriftReferenceError('validation probabilities and labels differ in length');
    }
    if (input.validation.probabilities.length === 0) {
      throw new DriftReferenceError('no validation rows to take performance from');
    }
  }
  if (input.importance.length !== data.featureNames.length) {
    throw new DriftReferenceError('one importance per feature is needed');
  }
  let firstChunk = Infinity;
  let lastChunk = -Infinity;
  for (let r = 0; r < n; r++) {
    if (chunks[r]! < firstChunk) firstChunk = chunks[r]!;
    if (chunks[r]! > lastChunk) lastChunk = chunks[r]!;
  }
  if (n === 0) throw new DriftReferenceError('no training rows');
  const recentFrom = lastChunk - o.recentChunks + 1;
  const nChunks = lastChunk - firstChunk + 1;

  /** Per per-group column: residual / residual sd, group * nChunks + chunk (NaN where unknown). */
  const standardized = new Map<string, Float64Array>();
  const columns = input.columns.map((spec) => {
    const index = data.featureNames.indexOf(spec.name);
    if (index < 0) throw new DriftReferenceError(`column ${spec.name} is not a feature`);
    return columnReference(spec, index);
  });

  function columnReference(spec: ColumnSpec, index: number): ColumnReference {
    const x = data.data.subarray(index * n, (index + 1) * n);
    // Means and spreads per (group, season): recent rows where the cell has enough of them, all rows else.
    const cells = G * SEASONS;
    const stats = [new Float64Array(cells * 3), new Float64Array(cells * 3)]; // [recent, all] x (n, sum, sumSq)
    const rowsRecent = new Float64Array(G);
    const missingRecent = new Float64Array(G);
    for (let r = 0; r < n; r++) {
      const g = groups[r]!;
      if (g < 0) continue;
      const recent = chunks[r]! >= recentFrom;
      const v = x[r]!;
      if (recent) {
        rowsRecent[g]!++;
        if (v !== v) missingRecent[g]!++;
      }
      if (v !== v) continue;
      const c = (g * SEASONS + seasons[r]!) * 3;
      for (const t of recent ? stats : [stats[1]!]) {
        t[c]! += 1;
        t[c + 1]! += v;
        t[c + 2]! += v * v;
      }
    }
    const mean = new Float64Array(cells).fill(NaN);
    const sd = new Float64Array(cells).fill(NaN);
    for (let c = 0; c < cells; c++) {
      const t = stats[0]![c * 3]! >= o.minCellRows ? stats[0]! : stats[1]!;
      const k = t[c * 3]!;
      if (k < o.minCellRows) continue;
      const m = t[c * 3 + 1]! / k;
      mean[c] = m;
      sd[c] = Math.sqrt(Math.max(0, t[c * 3 + 2]! / k - m * m) * (k / (k - 1)));
    }
    const missingRate = new Float64Array(G).fill(NaN);
    for (let g = 0; g < G; g++) if (rowsRecent[g]! > 0) missingRate[g] = missingRecent[g]! / rowsRecent[g]!;

    const grid = chunkGrid(x, mean, sd, missingRate);
    // Chunk anomalies as one dense matrix (group * nChunks + chunk), NaN where too few values.
    const anomalies = new Float64Array(G * nChunks);
    for (let i = 0; i < anomalies.length; i++) {
      anomalies[i] = grid.present[i]! >= o.minChunkRows ? grid.sum[i]! / grid.present[i]! : NaN;
    }
    const anomaly = (g: number, k: number) => anomalies[g * nChunks + k]!;

    // Neighbours by correlation of chunk anomalies.
    const groupRefs: (GroupColumnReference | null)[] = new Array(G).fill(null);
    const neighbours: Neighbour[][] = [];
    for (let g = 0; g < G; g++) {
      const candidates: { j: number; r: number; slope: number }[] = [];
      if (spec.perGroup) {
        for (let j = 0; j < G; j++) {
          if (j === g) continue;
          let k2 = 0;
          let sx = 0;
          let sy = 0;
          let sxx = 0;
          let syy = 0;
          let sxy = 0;
          const gi = g * nChunks;
          const ji = j * nChunks;
          for (let k = 0; k < nChunks; k++) {
            const y = anomalies[gi + k]!;
            const v = anomalies[ji + k]!;
            if (y !== y || v !== v) continue;
            k2++;
            sx += v;
            sy += y;
            sxx += v * v;
            syy += y * y;
            sxy += v * y;
          }
          if (k2 < o.minOverlap) continue;
          const cov = sxy / k2 - (sx / k2) * (sy / k2);
          const vx = sxx / k2 - (sx / k2) ** 2;
          const vy = syy / k2 - (sy / k2) ** 2;
          if (!(vx > 0 && vy > 0)) continue;
          candidates.push({ j, r: cov / Math.sqrt(vx * vy), slope: cov / vx });
        }
        candidates.sort((a, b) => b.r - a.r || a.j - b.j);
      }
      neighbours.push(
        candidates.slice(0, o.neighbours).map(({ j, slope }) => [j, round(slope)] as Neighbour),
      );
    }
    const scratch: number[] = [];
    const residual = (g: number, k: number) =>
      neighbourResidual(anomaly(g, k), neighbours[g]!, (j) => anomaly(j, k), scratch);

    const z1: number[] = [];
    const z2: number[] = [];
    let repeatChunks = 0;
    let valuedChunks = 0;
    const series = new Float64Array(G * nChunks).fill(NaN);
    if (spec.perGroup) standardized.set(spec.name, series);
    for (let g = 0; g < G; g++) {
      if (rowsRecent[g] === 0 && !spec.pooled) continue;
      const r1: number[] = [];
      const r2: number[] = [];
      const residuals = new Float64Array(nChunks).fill(NaN);
      let previous = NaN;
      if (spec.perGroup) {
        for (let k = 0; k < nChunks; k++) {
          const r = residual(g, k);
          residuals[k] = r;
          if (r === r) r1.push(r);
          if (r === r && previous === previous) r2.push((r + previous) / 2);
          previous = r;
        }
      }
      const sd1 = r1.length >= 20 ? sdOf(r1) : NaN;
      const sd2 = r2.length >= 20 ? sdOf(r2) : NaN;
      if (sd1 > 0) for (const r of r1) z1.push(Math.abs(r / sd1));
      if (sd2 > 0) for (const r of r2) z2.push(Math.abs(r / sd2));
      // The stage divides by the stored (rounded) spread: so does the combined series.
      const stored = orNull(sd1);
      if (stored !== null && stored > 0) {
        for (let k = 0; k < nChunks; k++) series[g * nChunks + k] = residuals[k]! / stored;
      }
      let maxMissing = 0;
      let repeats = 0;
      for (let k = 0; k < nChunks; k++) {
        const i = g * nChunks + k;
        if (grid.valued[i]! >= o.minChunkRows + 1) {
          valuedChunks++;
          if (grid.max[i] === grid.min[i]) {
            repeats++;
            repeatChunks++;
          }
        }
        if (firstChunk + k >= recentFrom && grid.rows[i]! >= o.minChunkRows) {
          maxMissing = Math.max(maxMissing, 1 - grid.valued[i]! / grid.rows[i]!);
        }
      }
      const rate = missingRate[g]!;
      if (!(rate === rate)) continue;
      // A chunk breaches when nearly all of it is missing, clearly more than any recent chunk was: a field
      // that stopped reporting, not one that some days goes unread.
      const missingThreshold = Math.max(o.minMissingShare, maxMissing + o.missingMargin);
      groupRefs[g] = {
        missing: round(rate),
        missingThreshold: missingThreshold >= 1 ? null : round(missingThreshold),
        repeats,
        neighbours: neighbours[g]!,
        residualSd: orNull(sd1),
        residualSd2: orNull(sd2),
      };
    }

    // Pooled: chunk mean of standardized values, and missing share minus what the groups' rates predict.
    const pooledMeans: number[] = [];
    const missingExcess: number[] = [];
    for (let k = 0; k < nChunks; k++) {
      let zs = 0;
      let zc = 0;
      let rows = 0;
      let missing = 0;
      let expected = 0;
      for (let g = 0; g < G; g++) {
        const i = g * nChunks + k;
        zs += grid.zSum[i]!;
        zc += grid.zCount[i]!;
        rows += grid.rows[i]!;
        missing += grid.rows[i]! - grid.present[i]!;
        expected += grid.expectedMissing[i]!;
      }
      if (zc >= o.minPooledRows) pooledMeans.push(zs / zc);
      if (rows >= o.minPooledRows) missingExcess.push((missing - expected) / rows);
    }
    let centre = 0;
    for (const m of pooledMeans) centre += m;
    centre = pooledMeans.length > 0 ? centre / pooledMeans.length : 0;
    const pooledSd = sdOf(pooledMeans);
    const missingSd = sdOf(missingExcess);

    return {
      ...spec,
      index,
      mean: Array.from(mean, orNull),
      sd: Array.from(sd, orNull),
      groups: groupRefs,
      shiftThreshold: quantileOrMin(z1, 1 - o.alpha / 2),
      shiftThreshold2: quantileOrMin(z2, 1 - o.alpha / 2),
      repeatRate: valuedChunks > 0 ? round(repeatChunks / valuedChunks) : 0,
      pooledShift: {
        centre: round(centre),
        threshold: pooledSd > 0 ? round(o.pooledK * pooledSd) : null,
      },
      pooledMissingThreshold: round(Math.max(o.minPooledMissing, missingSd > 0 ? o.pooledK * missingSd : 0)),
    };
  }

  function quantileOrMin(values: number[], q: number): number | null {
    if (values.length === 0) return null;
    values.sort((a, b) => a - b);
    return round(Math.max(o.minZ, quantileSorted(values, q)));
  }

  /** An instrument's readings judged together: the mean of their standardized residuals per chunk. */
  function combinedReference(spec: CombinedSpec): CombinedReference | null {
    const members = spec.columns.filter((c) => standardized.has(c));
    if (members.length < 2) return null;
    const all = members.map((c) => standardized.get(c)!);
    const z1: number[] = [];
    const z2: number[] = [];
    const groupRefs: CombinedReference['groups'] = [];
    for (let g = 0; g < G; g++) {
      const c1: number[] = [];
      const c2: number[] = [];
      let previous = NaN;
      for (let k = 0; k < nChunks; k++) {
        const c = combinedValue(all.map((m) => m[g * nChunks + k]!));
        if (c === c) c1.push(c);
        if (c === c && previous === previous) c2.push((c + previous) / 2);
        previous = c;
      }
      const sd1 = c1.length >= 20 ? sdOf(c1) : NaN;
      const sd2 = c2.length >= 20 ? sdOf(c2) : NaN;
      if (sd1 > 0) for (const c of c1) z1.push(Math.abs(c / sd1));
      if (sd2 > 0) for (const c of c2) z2.push(Math.abs(c / sd2));
      groupRefs.push(sd1 > 0 || sd2 > 0 ? { residualSd: orNull(sd1), residualSd2: orNull(sd2) } : null);
    }
    const importance = members.reduce(
      (sum, m) => sum + (columns.find((c) => c.name === m)?.importance ?? 0),
      0,
    );
    return {
      name: spec.name,
      columns: members,
      importance: round(importance),
      rank: 0,
      groups: groupRefs,
      shiftThreshold: quantileOrMin(z1, 1 - o.alpha / 2),
      shiftThreshold2: quantileOrMin(z2, 1 - o.alpha / 2),
    };
  }

  function chunkGrid(
    x: ArrayLike<number>,
    mean: Float64Array,
    sd: Float64Array,
    missingRate: Float64Array,
  ): ChunkGrid {
    const size = G * nChunks;
    const grid: ChunkGrid = {
      firstChunk,
      nChunks,
      present: new Float64Array(size),
      valued: new Float64Array(size),
      rows: new Float64Array(size),
      sum: new Float64Array(size),
      sumSq: new Float64Array(size),
      zSum: new Float64Array(size),
      zCount: new Float64Array(size),
      expectedMissing: new Float64Array(size),
      min: new Float64Array(size).fill(Infinity),
      max: new Float64Array(size).fill(-Infinity),
    };
    for (let r = 0; r < n; r++) {
      const g = groups[r]!;
      if (g < 0) continue;
      const i = g * nChunks + (chunks[r]! - firstChunk);
      const rate = missingRate[g]!;
      if (rate === rate) {
        grid.rows[i]!++;
        grid.expectedMissing[i]! += rate;
      }
      const v = x[r]!;
      if (v !== v) continue;
      grid.valued[i]!++;
      if (v < grid.min[i]!) grid.min[i] = v;
      if (v > grid.max[i]!) grid.max[i] = v;
      const c = g * SEASONS + seasons[r]!;
      const m = mean[c]!;
      if (!(m === m)) continue;
      const d = v - m;
      grid.present[i]!++;
      grid.sum[i]! += d;
      grid.sumSq[i]! += d * d;
      const s = sd[c]!;
      if (s > 0) {
        grid.zSum[i]! += d / s;
        grid.zCount[i]!++;
      }
    }
    return grid;
  }

  return {
    format: REFERENCE_FORMAT,
    formatVersion: REFERENCE_FORMAT_VERSION,
    featureNames: [...data.featureNames],
    groups: [...input.groupNames],
    columns: columns.sort((a, b) => a.rank - b.rank),
    combined: (input.combined ?? [])
      .map(combinedReference)
      .filter((c): c is CombinedReference => c !== null)
      .sort((a, b) => b.importance - a.importance)
      .map((c, i) => ({ ...c, rank: i + 1 })),
    missingGroups: (input.missingGroups ?? [])
      .map((g) => ({ name: g.name, columns: g.columns.filter((c) => standardized.has(c)) }))
      .filter((g) => g.columns.length >= 2),
    importance: Array.from(input.importance, round),
    ...(input.regression !== undefined
      ? { prediction: null, performance: null, errors: regressionErrors(input.regression, o) }
      : {
          prediction: predictionReference(input, firstChunk, nChunks, o),
          performance: performanceReference(input, o),
        }),
    options: o,
    rows: n,
  };
}

function predictionReference(
  input: ReferenceInputBase & ClassificationOutputs,
  firstChunk: number,
  nChunks: number,
  o: Required<ReferenceOptions>,
): DriftReference['prediction'] {
  const p = input.trainingProbabilities;
  const n = p.length;
  const bySeasonCounts = new Float64Array(SEASONS * PROBABILITY_BINS);
  const chunkCounts = new Float64Array(nChunks * PROBABILITY_BINS);
  const chunkSeasons = new Float64Array(nChunks * SEASONS);
  const overall = new Float64Array(PROBABILITY_BINS);
  for (let r = 0; r < n; r++) {
    const v = p[r]!;
    if (!(v >= 0 && v <= 1)) throw new DriftReferenceError(`training probability ${v} at row ${r}`);
    const b = probabilityBin(v);
    const s = input.seasons[r]!;
    const c = input.chunks[r]! - firstChunk;
    overall[b]!++;
    bySeasonCounts[s * PROBABILITY_BINS + b]!++;
    chunkCounts[c * PROBABILITY_BINS + b]!++;
    chunkSeasons[c * SEASONS + s]!++;
  }
  const expected = Array.from(overall, (c) => round(c / n));
  const bySeason: (number[] | null)[] = [];
  for (let s = 0; s < SEASONS; s++) {
    let total = 0;
    for (let b = 0; b < PROBABILITY_BINS; b++) total += bySeasonCounts[s * PROBABILITY_BINS + b]!;
    bySeason.push(
      total < 200
        ? null
        : Array.from(bySeasonCounts.subarray(s * PROBABILITY_BINS, (s + 1) * PROBABILITY_BINS), (c) =>
            round(c / total),
          ),
    );
  }
  const chunkPsi: number[] = [];
  for (let c = 0; c < nChunks; c++) {
    const counts = chunkCounts.subarray(c * PROBABILITY_BINS, (c + 1) * PROBABILITY_BINS);
    let total = 0;
    for (let b = 0; b < PROBABILITY_BINS; b++) total += counts[b]!;
    if (total < o.minPooledRows) continue;
    const mix = seasonMix(expected, bySeason, chunkSeasons.subarray(c * SEASONS, (c + 1) * SEASONS));
    chunkPsi.push(psi(mix, counts));
  }
  let mean = 0;
  for (const v of chunkPsi) mean += v;
  mean = chunkPsi.length > 0 ? mean / chunkPsi.length : 0;
  const sd = sdOf(chunkPsi);
  return { expected, bySeason, psiThreshold: sd > 0 ? round(mean + o.pooledK * sd) : null };
}

function performanceReference(
  input: ReferenceInputBase & ClassificationOutputs,
  o: Required<ReferenceOptions>,
): DriftReference['performance'] {
  const prior = o.calibrationPrior;
  const { probabilities: p, labels: y, chunks } = input.validation;
  const threshold = input.threshold;
  const bins = Array.from({ length: PROBABILITY_BINS }, () => ({ n: 0, sumP: 0, sumY: 0 }));
  let correct = 0;
  let brierSum = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    const label = y[i]!;
    if (!(v >= 0 && v <= 1)) throw new DriftReferenceError(`probability ${v} at row ${i} is outside [0, 1]`);
    if (label !== 0 && label !== 1) throw new DriftReferenceError(`label ${label} at row ${i} is not 0 or 1`);
    const b = bins[probabilityBin(v)]!;
    b.n++;
    b.sumP += v;
    b.sumY += label;
    if ((v >= threshold ? 1 : 0) === label) correct++;
    brierSum += (v - label) ** 2;
  }
  const calibration = bins.map((b) => ({
    n: b.n,
    meanP: b.n === 0 ? 0 : round(b.sumP / b.n),
    meanY: b.n === 0 ? 0 : round(b.sumY / b.n),
  }));
  // The gap between realized and estimated accuracy, chunk by chunk: how far a week strays by itself.
  let gapSd: number | null = null;
  if (chunks !== undefined && chunks.length === p.length) {
    const per = new Map<number, { n: number; real: number; est: number }>();
    for (let i = 0; i < p.length; i++) {
      let e = per.get(chunks[i]!);
      if (!e) per.set(chunks[i]!, (e = { n: 0, real: 0, est: 0 }));
      const v = p[i]!;
      e.n++;
      e.real += (v >= threshold ? 1 : 0) === y[i]! ? 1 : 0;
      e.est += expectedOutcome(v, calibrated(calibration, v, prior), threshold).correct;
    }
    const gaps = [...per.values()].filter((e) => e.n >= o.minPooledRows).map((e) => (e.real - e.est) / e.n);
    if (gaps.length >= 3) gapSd = round(sdOf(gaps));
  }
  return {
    n: p.length,
    threshold,
    accuracy: round(correct / p.length),
    brier: round(brierSum / p.length),
    calibration,
    gapSd,
  };
}

/**
 * A regression model's validation errors, and how far a week's RMSE strays from the window's by itself
 * (the spread of RMSE_week / RMSE - 1 over weeks with enough rows), what a realized week is judged by.
 */
function regressionErrors(
  v: RegressionOutputs['regression'],
  o: Required<ReferenceOptions>,
): RegressionErrors {
  let sse = 0;
  let sae = 0;
  const per = new Map<number, { n: number; sse: number }>();
  for (let i = 0; i < v.predictions.length; i++) {
    const e = v.predictions[i]! - v.targets[i]!;
    if (!Number.isFinite(e)) throw new DriftReferenceError(`error ${e} at validation row ${i}`);
    sse += e * e;
    sae += Math.abs(e);
    if (v.chunks === undefined) continue;
    let c = per.get(v.chunks[i]!);
    if (c === undefined) per.set(v.chunks[i]!, (c = { n: 0, sse: 0 }));
    c.n++;
    c.sse += e * e;
  }
  const n = v.predictions.length;
  const rmse = Math.sqrt(sse / n);
  const ratios = [...per.values()]
    .filter((c) => c.n >= o.minPooledRows)
    .map((c) => Math.sqrt(c.sse / c.n) / rmse - 1);
  return {
    n,
    rmse: round(rmse),
    mae: round(sae / n),
    rmseRatioSd: ratios.length >= 3 && rmse > 0 ? round(sdOf(ratios)) : null,
  };
}

/** What permutation importance measures a model's loss with: log loss (classification) or squared error. */
export type ImportanceLoss = 'logLoss' | 'squaredError';

/**
 * Permutation importance: how much the model's loss (log loss, or a regression's squared error) on (data, target) rises when one column's values
 * are shuffled, per column. Works for every model family (the engine's tree families also have split gain,
 * logistic regression and climatology do not), and measures what the model relies on out of sample.
 */
export function permutationImportance(
  predict: (data: Dataset) => Float64Array,
  data: Dataset,
  target: ArrayLike<number>,
  seed = 42,
  loss: ImportanceLoss = 'logLoss',
): Float64Array {
  const n = data.nRows;
  const logLoss = (p: Float64Array) => {
    let s = 0;
    if (loss === 'squaredError') {
      for (let i = 0; i < n; i++) s += (p[i]! - target[i]!) ** 2;
      return s / Math.max(1, n);
    }
    for (let i = 0; i < n; i++) {
      const q = Math.min(1 - 1e-7, Math.max(1e-7, p[i]!));
      s -= target[i]! === 1 ? Math.log(q) : Math.log(1 - q);
    }
    return s / Math.max(1, n);
  };
  const base = logLoss(predict(data));
  const out = new Float64Array(data.featureNames.length);
  const copy = Float64Array.from(data.data);
  let state = seed >>> 0 || 1;
  const random = () => {
    // xorshift32: a seeded shuffle, so one training gives one ranking.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  for (let c = 0; c < out.length; c++) {
    const column = copy.subarray(c * n, (c + 1) * n);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = column[i]!;
      column[i] = column[j]!;
      column[j] = t;
    }
    out[c] = logLoss(predict({ featureNames: data.featureNames, nRows: n, data: copy })) - base;
    column.set(data.data.subarray(c * n, (c + 1) * n));
  }
  return out;
}

function isNumberOrNullArray(v: unknown, length: number): boolean {
  return Array.isArray(v) && v.length === length && v.every((x) => x === null || typeof x === 'number');
}

/**
 * Validates a stored reference (from the registry) before the drift stage relies on its layout. A
 * reference of another format version (v1, stored before per-station statistics) is refused: the drift
 * stage then has no reference for that model and counts its examples as such.
 */
export function parseDriftReference(json: unknown): DriftReference {
  const r = json as Partial<DriftReference> | null;
  const fail = (why: string): never => {
    throw new DriftReferenceError(`not a ${REFERENCE_FORMAT} v${REFERENCE_FORMAT_VERSION}: ${why}`);
  };
  if (r === null || typeof r !== 'object') return fail('not an object');
  if (r.format !== REFERENCE_FORMAT || r.formatVersion !== REFERENCE_FORMAT_VERSION) fail('format tag');
  if (!Array.isArray(r.featureNames) || !Array.isArray(r.groups) || !Array.isArray(r.columns)) {
    fail('featureNames, groups, columns');
  }
  const G = r.groups!.length;
  for (const c of r.columns!) {
    if (c === null || typeof c !== 'object' || r.featureNames![c.index] !== c.name) fail('column index');
    if (!isNumberOrNullArray(c.mean, G * SEASONS) || !isNumberOrNullArray(c.sd, G * SEASONS)) {
      fail(`column ${c.name} means`);
    }
    if (!Array.isArray(c.groups) || c.groups.length !== G) fail(`column ${c.name} groups`);
    for (const g of c.groups) {
      if (g === null) continue;
      if (
        typeof g.missing !== 'number' ||
        !Array.isArray(g.neighbours) ||
        !g.neighbours.every((nb) => Array.isArray(nb) && nb[0]! >= 0 && nb[0]! < G)
      ) {
        fail(`column ${c.name} group reference`);
      }
    }
  }
  if (r.combined === undefined) r.combined = [];
  if (r.missingGroups === undefined) r.missingGroups = [];
  if (
    !Array.isArray(r.combined) ||
    !r.combined.every((c) => Array.isArray(c.groups) && c.groups.length === G)
  ) {
    fail('combined');
  }
  if (r.errors !== undefined) {
    // A regression model's reference: errors instead of probabilities.
    const e = r.errors;
    if (typeof e.rmse !== 'number' || typeof e.mae !== 'number' || r.prediction !== null) fail('errors');
    if (r.performance !== null) fail('performance');
    return r as DriftReference;
  }
  const perf = r.performance;
  if (
    perf === undefined ||
    perf === null ||
    typeof perf.accuracy !== 'number' ||
    typeof perf.threshold !== 'number' ||
    !Array.isArray(perf.calibration) ||
    perf.calibration.length !== PROBABILITY_BINS
  ) {
    fail('performance');
  }
  if (
    !Array.isArray(r.prediction?.expected) ||
    r.prediction.expected.length !== PROBABILITY_BINS ||
    !Array.isArray(r.prediction.bySeason)
  ) {
    fail('prediction');
  }
  return r as DriftReference;
}
