/**
 * Weekly drift statistics. Labeled examples (features of D, the prediction made for D, and its label)
 * accumulate into histograms per event-time week (Monday..Sunday of D) and per model version, binned with
 * the bins stored in that model's DriftReference. When the watermark passes a week's Sunday the week
 * closes: per feature PSI and Jensen-Shannon distance against the reference, the same two for the
 * predicted probabilities, and the accuracy and Brier deltas against the validation figures.
 *
 * The expected proportions of a week are the reference's per-month proportions mixed by how many of the
 * week's examples fall in each month (all-year proportions for a month the reference lacks): weather is
 * seasonal, and a winter week is only drift if it differs from the winters the model learned from.
 * Features that encode the date itself get no rows: one week always differs from a month of them.
 *
 * Why Jensen-Shannon distance as the second statistic rather than KS on the binned CDF: every feature has
 * a missing bin, which has no place in an ordered CDF, while JS treats it like any other bin (a station
 * whose barometer fails is drift worth seeing). JS is also symmetric, bounded in [0, 1] so one threshold
 * fits every feature, and finite with empty bins, so it needs none of the smoothing PSI depends on.
 */
import type { DriftAlert, DriftKind, LabeledExample } from '../../lib/domain/events.ts';
import { featureNamesFor } from '../../lib/domain/features/feature-set.ts';
import {
  binOf,
  MONTHS,
  probabilityBin,
  PROBABILITY_BINS,
  type DriftReference,
} from '../../lib/ml/reference.ts';
import { addDays, mondayOf, month } from '../../lib/domain/time.ts';

export interface DriftThresholds {
  /** PSI above which a feature or the prediction distribution alerts (0.2 = the usual "significant shift"). */
  psi: number;
  /** Jensen-Shannon distance (base 2, in [0, 1]) above which a distribution alerts. */
  js: number;
  /** Alert when accuracy falls more than this below the reference. */
  accuracyDrop: number;
  /** Alert when the Brier score rises more than this above the reference. */
  brierIncrease: number;
  /** Weeks with fewer examples get rows but no alerts: a few dozen rows make PSI noise, not evidence. */
  minCount: number;
}

/**
 * js 0.2 alerts on about the same shifts as psi 0.2: a bell-shaped feature moved by 0.45 of its standard
 * deviation, binned in deciles, gives psi 0.20 and js 0.19 (drift.test checks both on such a shift). Both
 * sit well above the sampling noise of a ~340-row week (psi ~0.03, js ~0.07 for identical distributions).
 */
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  psi: 0.2,
  js: 0.2,
  accuracyDrop: 0.05,
  brierIncrease: 0.03,
  minCount: 50,
};

/** Calendar encodings: their weekly distribution is a sliver of the month's by construction. */
export const DRIFT_SKIPPED_FEATURES: ReadonlySet<string> = new Set([
  'month',
  'monthSin',
  'monthCos',
  'dayOfYearSin',
  'dayOfYearCos',
]);

/** Proportions below this are raised to it in PSI, whose log ratio is infinite on an empty bin. */
export const PSI_EPSILON = 1e-4;

/** Counts of one (week, model version); bins laid out as in the model's reference. */
export interface DriftWindow {
  week: string;
  modelVersion: string;
  n: number;
  /** Every feature's bins, concatenated in reference order (edges.length + 2 per feature). */
  featureCounts: Float64Array;
  predictionCounts: Float64Array;
  /** Examples per calendar month (index 0 = January): the weights of the monthly reference proportions. */
  monthCounts: Float64Array;
  correct: number;
  brierSum: number;
}

export interface DriftState {
  v: 1;
  /** Monday of the earliest week still open; examples of earlier weeks are late and dropped. */
  closedBefore: string | null;
  windows: DriftWindow[];
}

export interface DriftRow {
  week: string;
  modelVersion: string;
  kind: DriftKind;
  name: string;
  statistic: 'psi' | 'js' | 'accuracy_drop' | 'brier_increase';
  value: number;
  threshold: number;
  alert: boolean;
  n: number;
}

export type ReferenceLookup = (modelVersion: string) => DriftReference | undefined;

export class DriftStateError extends Error {
  readonly code = 'DRIFT_STATE';
}

export function initialDriftState(): DriftState {
  return { v: 1, closedBefore: null, windows: [] };
}

/** Position of each reference feature's bins in featureCounts, and its column in the example values. */
interface Layout {
  readonly offsets: Int32Array;
  readonly columns: Int32Array;
  readonly size: number;
}

function layoutOf(reference: DriftReference, exampleNames: readonly string[]): Layout | null {
  const at = new Map(exampleNames.map((n, i) => [n, i]));
  const offsets = new Int32Array(reference.features.length + 1);
  const columns = new Int32Array(reference.features.length);
  for (let f = 0; f < reference.features.length; f++) {
    const bins = reference.features[f]!;
    const col = at.get(bins.name);
    if (col === undefined) return null;
    columns[f] = col;
    offsets[f + 1] = offsets[f]! + bins.edges.length + 2;
  }
  return { offsets, columns, size: offsets[reference.features.length]! };
}

function cloneWindow(w: DriftWindow): DriftWindow {
  return {
    ...w,
    featureCounts: w.featureCounts.slice(),
    predictionCounts: w.predictionCounts.slice(),
    monthCounts: w.monthCounts.slice(),
  };
}

export interface AccumulateResult {
  state: DriftState;
  accumulated: number;
  /** Examples of a week already closed. */
  late: number;
  /** Examples whose model has no reference, or whose feature set lacks a reference feature. */
  noReference: number;
}

/**
 * Adds a batch of labeled examples. Takes a batch rather than one example because each touched window's
 * arrays are copied once per call (the input state is never mutated): per event that copy would cost more
 * than the counting.
 */
export function accumulateDrift(
  state: DriftState,
  examples: readonly LabeledExample[],
  referenceOf: ReferenceLookup,
): AccumulateResult {
  const windows = new Map(state.windows.map((w) => [`${w.week}|${w.modelVersion}`, w]));
  const touched = new Set<string>();
  const layouts = new Map<string, { reference: DriftReference; layout: Layout } | null>();
  let accumulated = 0;
  let late = 0;
  let noReference = 0;

  for (const ex of examples) {
    const week = mondayOf(ex.date);
    if (state.closedBefore !== null && week < state.closedBefore) {
      late++;
      continue;
    }
    const layoutKey = `${ex.modelVersion}|${ex.featureSetVersion}`;
    let entry = layouts.get(layoutKey);
    if (entry === undefined) {
      const reference = referenceOf(ex.modelVersion);
      const names = featureNamesFor(ex.featureSetVersion);
      const layout = reference === undefined || names === undefined ? null : layoutOf(reference, names);
      entry = layout === null ? null : { reference: reference!, layout };
      layouts.set(layoutKey, entry);
    }
    if (entry === null) {
      noReference++;
      continue;
    }
    const { reference, layout } = entry;
    const key = `${week}|${ex.modelVersion}`;
    let w = windows.get(key);
    if (w === undefined) {
      w = {
        week,
        modelVersion: ex.modelVersion,
        n: 0,
        featureCounts: new Float64Array(layout.size),
        predictionCounts: new Float64Array(PROBABILITY_BINS),
        monthCounts: new Float64Array(MONTHS),
        correct: 0,
        brierSum: 0,
      };
      windows.set(key, w);
      touched.add(key);
    } else if (!touched.has(key)) {
      w = cloneWindow(w);
      windows.set(key, w);
      touched.add(key);
    }
    if (w.featureCounts.length !== layout.size) {
      throw new DriftStateError(
        `window ${key} has ${w.featureCounts.length} bins, reference has ${layout.size}`,
      );
    }
    for (let f = 0; f < layout.columns.length; f++) {
      const bin = binOf(reference.features[f]!.edges, ex.values[layout.columns[f]!]!);
      w.featureCounts[layout.offsets[f]! + bin]! += 1;
    }
    const p = ex.probability;
    const y = ex.label ? 1 : 0;
    w.predictionCounts[probabilityBin(p)]! += 1;
    w.monthCounts[month(ex.date) - 1]! += 1;
    if ((p >= reference.performance.threshold ? 1 : 0) === y) w.correct++;
    w.brierSum += (p - y) * (p - y);
    w.n++;
    accumulated++;
  }
  return { state: { ...state, windows: [...windows.values()] }, accumulated, late, noReference };
}

/**
 * Population stability index of observed `counts` against `expected` proportions:
 * sum (a - e) ln(a / e), both proportions raised to at least `epsilon`. 0 for identical distributions.
 */
export function psi(expected: ArrayLike<number>, counts: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  const total = sum(counts);
  if (total === 0) return NaN;
  let value = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = Math.max(counts[i]! / total, epsilon);
    const e = Math.max(expected[i]!, epsilon);
    value += (a - e) * Math.log(a / e);
  }
  return value;
}

/** Jensen-Shannon distance, base 2: sqrt of the JS divergence, 0 (identical) .. 1 (disjoint). */
export function jsDistance(expected: ArrayLike<number>, counts: ArrayLike<number>): number {
  const total = sum(counts);
  const eTotal = sum(expected);
  if (total === 0 || eTotal === 0) return NaN;
  let divergence = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = counts[i]! / total;
    const e = expected[i]! / eTotal;
    const m = (a + e) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (e > 0) divergence += 0.5 * e * Math.log2(e / m);
  }
  return Math.sqrt(Math.max(0, divergence));
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

export interface CloseResult {
  rows: DriftRow[];
  alerts: DriftAlert[];
  state: DriftState;
  /** Windows closed without rows because their model's reference is gone. */
  dropped: number;
}

/**
 * Closes every week whose Sunday + graceDays lies before `watermark` (the latest event date seen by the
 * shell across the partitions this state covers), returning its rows and alerts. Weeks come out in order.
 */
export function closeWeeks(
  state: DriftState,
  watermark: string,
  referenceOf: ReferenceLookup,
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
  graceDays = 0,
): CloseResult {
  // The latest Monday W with W + 7 + grace <= watermark; every week up to it is closed.
  const lastClosed = mondayOf(addDays(watermark, -(7 + graceDays)));
  const closedBefore = addDays(lastClosed, 7);
  const closing = state.windows.filter((w) => w.week <= lastClosed);
  closing.sort((a, b) =>
    a.week < b.week ? -1 : a.week > b.week ? 1 : a.modelVersion < b.modelVersion ? -1 : 1,
  );
  const rows: DriftRow[] = [];
  let dropped = 0;
  for (const w of closing) {
    const reference = referenceOf(w.modelVersion);
    if (reference === undefined) {
      dropped++;
      continue;
    }
    rows.push(...windowRows(w, reference, thresholds));
  }
  const alerts: DriftAlert[] = rows
    .filter((r) => r.alert)
    .map(({ week, modelVersion, kind, name, statistic, value, threshold }) => ({
      week,
      modelVersion,
      kind,
      name,
      statistic,
      value,
      threshold,
    }));
  const next: DriftState = {
    v: 1,
    closedBefore:
      state.closedBefore !== null && state.closedBefore > closedBefore ? state.closedBefore : closedBefore,
    windows: state.windows.filter((w) => w.week > lastClosed),
  };
  return { rows, alerts, state: next, dropped };
}

/** The reference proportions of the week's months, weighted by the week's examples in each month. */
function seasonalExpected(
  overall: readonly number[],
  byMonth: readonly (readonly number[] | null)[],
  monthCounts: Float64Array,
): Float64Array {
  const n = sum(monthCounts);
  if (n === 0) return Float64Array.from(overall);
  const out = new Float64Array(overall.length);
  for (let m = 0; m < MONTHS; m++) {
    const weight = monthCounts[m]! / n;
    if (weight === 0) continue;
    const p = byMonth[m] ?? overall;
    for (let b = 0; b < out.length; b++) out[b]! += weight * p[b]!;
  }
  return out;
}

function windowRows(w: DriftWindow, reference: DriftReference, t: DriftThresholds): DriftRow[] {
  const rows: DriftRow[] = [];
  const canAlert = w.n >= t.minCount;
  const row = (
    kind: DriftKind,
    name: string,
    statistic: DriftRow['statistic'],
    value: number,
    threshold: number,
  ) =>
    rows.push({
      week: w.week,
      modelVersion: w.modelVersion,
      kind,
      name,
      statistic,
      value,
      threshold,
      alert: canAlert && value > threshold,
      n: w.n,
    });
  let offset = 0;
  for (const bins of reference.features) {
    const size = bins.edges.length + 2;
    const counts = w.featureCounts.subarray(offset, offset + size);
    offset += size;
    if (DRIFT_SKIPPED_FEATURES.has(bins.name)) continue;
    const expected = seasonalExpected(bins.expected, bins.byMonth, w.monthCounts);
    row('feature', bins.name, 'psi', psi(expected, counts), t.psi);
    row('feature', bins.name, 'js', jsDistance(expected, counts), t.js);
  }
  const expected = seasonalExpected(
    reference.prediction.expected,
    reference.prediction.byMonth,
    w.monthCounts,
  );
  row('prediction', 'probability', 'psi', psi(expected, w.predictionCounts), t.psi);
  row('prediction', 'probability', 'js', jsDistance(expected, w.predictionCounts), t.js);
  if (w.n > 0) {
    row(
      'performance',
      'accuracy',
      'accuracy_drop',
      reference.performance.accuracy - w.correct / w.n,
      t.accuracyDrop,
    );
    row(
      'performance',
      'brier',
      'brier_increase',
      w.brierSum / w.n - reference.performance.brier,
      t.brierIncrease,
    );
  }
  return rows;
}

interface DriftWindowJSON extends Omit<DriftWindow, 'featureCounts' | 'predictionCounts' | 'monthCounts'> {
  featureCounts: number[];
  predictionCounts: number[];
  monthCounts?: number[];
}

/** JSON text of the state (typed arrays as plain arrays), for the shell's store. */
export function serializeDriftState(state: DriftState): string {
  return JSON.stringify({
    v: state.v,
    closedBefore: state.closedBefore,
    windows: state.windows.map((w): DriftWindowJSON => ({
      ...w,
      featureCounts: Array.from(w.featureCounts),
      predictionCounts: Array.from(w.predictionCounts),
      monthCounts: Array.from(w.monthCounts),
    })),
  });
}

export function parseDriftState(text: string): DriftState {
  const raw = JSON.parse(text) as { v?: unknown; closedBefore?: unknown; windows?: DriftWindowJSON[] };
  const counts = (v: unknown): v is number[] =>
    Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
  if (
    raw === null ||
    raw.v !== 1 ||
    !(raw.closedBefore === null || typeof raw.closedBefore === 'string') ||
    !Array.isArray(raw.windows) ||
    !raw.windows.every(
      (w) =>
        typeof w.week === 'string' &&
        typeof w.modelVersion === 'string' &&
        counts(w.featureCounts) &&
        counts(w.predictionCounts) &&
        w.predictionCounts.length === PROBABILITY_BINS &&
        (w.monthCounts === undefined || (counts(w.monthCounts) && w.monthCounts.length === MONTHS)),
    )
  ) {
    throw new DriftStateError('stored drift state is not a v1 DriftState');
  }
  return {
    v: 1,
    closedBefore: raw.closedBefore,
    windows: raw.windows.map((w) => ({
      ...w,
      featureCounts: Float64Array.from(w.featureCounts),
      predictionCounts: Float64Array.from(w.predictionCounts),
      // State written before months were counted: no month known, all-year proportions apply.
      monthCounts: w.monthCounts === undefined ? new Float64Array(MONTHS) : Float64Array.from(w.monthCounts),
    })),
  };
}
