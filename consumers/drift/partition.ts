/**
 * The first half of the drift topology: one source partition (of the predictions topic or of the labeled
 * topic) folded into weekly partial sums per (station, model version), one partial per week the partition
 * has closed. Since both topics are keyed by station, a station lives in one partition, so the state of a
 * partition is the whole truth about its stations and needs nobody else's: two instances never share it.
 *
 * Event time is the partition's own: its watermark is the latest event date it has seen, and week W closes
 * when the watermark reaches W's Sunday plus the grace days. So what a partial holds depends only on the
 * partition's records in their order, never on how fast they were read, how they were batched, or when a
 * process restarted: a full-speed run, a paced run and a run with faults produce the same partials. A record
 * of a week already closed is late and dropped (counted); a (station, date) already counted in an open week
 * is a duplicate (a re-delivered record) and dropped (counted).
 */
import type { LabeledExample, Prediction } from '../../lib/domain/events.ts';
import { featureNamesFor } from '../../lib/domain/features/feature-set.ts';
import { addDays, mondayOf, month } from '../../lib/domain/time.ts';
import { checkEventDate, type ObservationRules } from '../../lib/domain/weather/validation.ts';
import {
  calibrated,
  expectedOutcome,
  probabilityBin,
  PROBABILITY_BINS,
  SEASONS,
  type DriftReference,
} from '../../lib/ml/reference.ts';
import { TypedError, type TypedErrorOptions } from '../../lib/platform/errors.ts';

export type DriftSource = 'predictions' | 'labeled';

/** What a task predicts (lib/models/tasks.ts): a class probability, or a value (regression). */
export type DriftTaskType = 'classification' | 'regression';

/**
 * The task a topology watches: each task's champion has its own reference, weeks, incidents and
 * retraining requests (lib/models/tasks.ts declares them; the steps need only the name and the type).
 */
export interface DriftTask {
  name: string;
  type: DriftTaskType;
}

export const RAIN_DRIFT_TASK: DriftTask = { name: 'rain', type: 'classification' };

/**
 * Layout of a prediction partial's values: probability histogram, CBPE sums, months, then per column. A
 * regression task's partials keep the layout with the probability and CBPE slots at 0 (it has no class
 * probabilities), so the months and the columns sit where the closer reads them for every task.
 */
export const P = {
  HIST: 0,
  EXPECTED_CORRECT: PROBABILITY_BINS,
  EXPECTED_BRIER: PROBABILITY_BINS + 1,
  SUM_P: PROBABILITY_BINS + 2,
  MONTHS: PROBABILITY_BINS + 3,
  COLUMNS: PROBABILITY_BINS + 3 + SEASONS,
} as const;

/** Per watched column: missing values, values, values with a known station-month mean, then sums of them. */
export const C = {
  MISSING: 0,
  VALUED: 1,
  PRESENT: 2,
  SUM_D: 3,
  SUM_D2: 4,
  SUM_Z: 5,
  Z_COUNT: 6,
  MIN: 7,
  MAX: 8,
  SIZE: 9,
} as const;

/** Layout of a labeled partial's values: counts, realized sums, CBPE sums on the same rows, reliability bins. */
export const L = {
  N: 0,
  CORRECT: 1,
  BRIER: 2,
  POSITIVES: 3,
  EXPECTED_CORRECT: 4,
  EXPECTED_BRIER: 5,
  CALIBRATION: 6,
  SIZE: 6 + 3 * PROBABILITY_BINS,
} as const;

/**
 * Layout of a regression task's labeled partial: rows, then the sums of the error (forecast - target), of
 * its square and of its magnitude: the realized bias, RMSE and MAE of the week.
 */
export const R = {
  N: 0,
  SUM_E: 1,
  SUM_E2: 2,
  SUM_AE: 3,
  SIZE: 4,
} as const;

export function predictionValuesSize(reference: DriftReference | undefined): number {
  return P.COLUMNS + (reference ? reference.columns.length * C.SIZE : 0);
}

export interface StationPartial {
  location: string;
  modelVersion: string;
  rows: number;
  values: number[];
}

/** What a partition says about one week it closed. */
export interface DriftPartial {
  task: string;
  source: DriftSource;
  partition: number;
  week: string;
  /** The partition's watermark when it closed the week. */
  watermark: string;
  stations: StationPartial[];
  /** Records dropped since the previous partial of this partition. */
  late: number;
  duplicates: number;
}

export interface OpenWeek {
  week: string;
  /** `location|date` of every record counted in the week. */
  seen: string[];
  stations: StationPartial[];
}

export interface PartitionState {
  v: 2;
  watermark: string | null;
  /** Monday of the latest closed week; records of weeks up to it are late. */
  closedThrough: string | null;
  weeks: OpenWeek[];
  late: number;
  duplicates: number;
}

export function initialPartitionState(): PartitionState {
  return { v: 2, watermark: null, closedThrough: null, weeks: [], late: 0, duplicates: 0 };
}

export type ReferenceLookup = (modelVersion: string) => DriftReference | undefined;

export interface PartitionContext {
  source: DriftSource;
  /** The task whose events these are: a partition step folds one task's events. */
  task: DriftTask;
  partition: number;
  referenceOf: ReferenceLookup;
  /** Days after a week's Sunday before it closes: records of one partition come nearly, not exactly, in order. */
  graceDays: number;
}

export interface PartitionResult {
  state: PartitionState;
  partials: DriftPartial[];
  counted: number;
  late: number;
  duplicates: number;
  /** Records whose model has no drift reference: counted in performance only, no feature columns. */
  noReference: number;
}

/** Where each watched column of a reference sits in an event's values, for one feature-set version. */
function columnsOf(reference: DriftReference, featureSetVersion: string): Int32Array | null {
  const names = featureNamesFor(featureSetVersion);
  if (names === undefined) return null;
  const at = new Map(names.map((n, i) => [n, i]));
  const out = new Int32Array(reference.columns.length);
  for (let c = 0; c < reference.columns.length; c++) {
    const i = at.get(reference.columns[c]!.name);
    if (i === undefined) return null;
    out[c] = i;
  }
  return out;
}

// Dates repeat across a partition's records (every station reports each day): parse each once.
const WEEKS = new Map<string, string>();
const MONTHS = new Map<string, number>();

function weekOfDate(date: string): string {
  let w = WEEKS.get(date);
  if (w === undefined) {
    if (WEEKS.size > 10_000) WEEKS.clear();
    WEEKS.set(date, (w = mondayOf(date)));
  }
  return w;
}

function monthOfDate(date: string): number {
  let m = MONTHS.get(date);
  if (m === undefined) {
    if (MONTHS.size > 10_000) MONTHS.clear();
    MONTHS.set(date, (m = month(date)));
  }
  return m;
}

function cloneWeek(w: OpenWeek): OpenWeek {
  return {
    week: w.week,
    seen: [...w.seen],
    stations: w.stations.map((s) => ({ ...s, values: [...s.values] })),
  };
}

type Event = Prediction | LabeledExample;

/**
 * Null when an event may enter a partition's weeks; otherwise the field at fault and why. The stages that
 * write predictions and labeled examples only write valid ones, but anything may be written to a topic, and
 * one record dated far ahead would move the partition's watermark past every week up to it: each of those
 * weeks would close, and the closer would wait on them all. Station and date are what the partition keys
 * on; the values are only summed (a bad value skews one station-week, it cannot stall anything).
 */
export function checkDriftEvent(
  event: Event,
  rules: ObservationRules,
): { field: string; reason: string } | null {
  return rules.stations.check(event.location) ?? checkEventDate(event.date, rules);
}

/**
 * Folds a batch of one partition's events (in offset order) into its state and returns the partials of
 * the weeks the batch closed. Pure: the input state is not changed.
 */
export function partitionStep(
  state: PartitionState,
  events: readonly Event[],
  ctx: PartitionContext,
): PartitionResult {
  const weeks = new Map(state.weeks.map((w) => [w.week, w]));
  const cloned = new Set<string>();
  const seen = new Map<string, Set<string>>();
  const stationsOf = new Map<string, Map<string, StationPartial>>();
  const layouts = new Map<string, Int32Array | null>();
  let watermark = state.watermark;
  let closedThrough = state.closedThrough;
  let late = 0;
  let duplicates = 0;
  let counted = 0;
  let noReference = 0;

  const weekOf = (monday: string): OpenWeek => {
    let w = weeks.get(monday);
    if (w === undefined) {
      w = { week: monday, seen: [], stations: [] };
      weeks.set(monday, w);
      cloned.add(monday);
    } else if (!cloned.has(monday)) {
      w = cloneWeek(w);
      weeks.set(monday, w);
      cloned.add(monday);
    }
    return w;
  };

  // Weeks close record by record, as the watermark passes them: a batch gives what its records one by one
  // would (a record of a week its batch already closed is late either way).
  const partials: DriftPartial[] = [];
  let pendingLate = state.late;
  let pendingDuplicates = state.duplicates;
  const closeUpTo = (wm: string) => {
    const lastClosable = mondayOf(addDays(wm, -(6 + ctx.graceDays)));
    for (let monday = addDays(closedThrough!, 7); monday <= lastClosable; monday = addDays(monday, 7)) {
      const w = weeks.get(monday);
      weeks.delete(monday);
      seen.delete(monday);
      stationsOf.delete(monday);
      partials.push({
        task: ctx.task.name,
        source: ctx.source,
        partition: ctx.partition,
        week: monday,
        watermark: wm,
        stations: w ? [...w.stations].sort(byStation) : [],
        late: pendingLate,
        duplicates: pendingDuplicates,
      });
      pendingLate = 0;
      pendingDuplicates = 0;
      closedThrough = monday;
    }
  };

  for (const event of events) {
    const monday = weekOfDate(event.date);
    // The first record of a partition closes every earlier week: records older than it are late.
    if (closedThrough === null) closedThrough = addDays(monday, -7);
    if (monday <= closedThrough) {
      late++;
      pendingLate++;
      continue;
    }
    const week = weekOf(monday);
    let seenSet = seen.get(monday);
    if (seenSet === undefined) seen.set(monday, (seenSet = new Set(week.seen)));
    const id = `${event.location}|${event.date}`;
    if (seenSet.has(id)) {
      duplicates++;
      pendingDuplicates++;
      continue;
    }
    seenSet.add(id);
    week.seen.push(id);
    let stations = stationsOf.get(monday);
    if (stations === undefined) {
      stations = new Map(week.stations.map((s) => [`${s.location}|${s.modelVersion}`, s]));
      stationsOf.set(monday, stations);
    }
    const reference = ctx.referenceOf(event.modelVersion);
    const key = `${event.location}|${event.modelVersion}`;
    let station = stations.get(key);
    if (station === undefined) {
      const size =
        ctx.source === 'predictions'
          ? predictionValuesSize(reference)
          : ctx.task.type === 'regression'
            ? R.SIZE
            : L.SIZE;
      station = {
        location: event.location,
        modelVersion: event.modelVersion,
        rows: 0,
        values: new Array(size).fill(0),
      };
      stations.set(key, station);
      week.stations.push(station);
    }
    station.rows++;
    counted++;
    if (reference === undefined) noReference++;
    if (ctx.source === 'labeled') {
      if (ctx.task.type === 'regression') addRegressionLabeled(station.values, event as LabeledExample);
      else addLabeled(station.values, event as LabeledExample, reference);
    } else {
      let layout: Int32Array | null | undefined = null;
      if (reference !== undefined) {
        const layoutKey = `${event.modelVersion}|${event.featureSetVersion}`;
        layout = layouts.get(layoutKey);
        if (layout === undefined)
          layouts.set(layoutKey, (layout = columnsOf(reference, event.featureSetVersion)));
      }
      addPrediction(station.values, event as Prediction, reference, layout ?? null, ctx.task.type);
    }
    if (watermark === null || event.date > watermark) {
      watermark = event.date;
      closeUpTo(watermark);
    }
  }

  return {
    state: {
      v: 2,
      watermark,
      closedThrough,
      weeks: [...weeks.values()].sort((a, b) => (a.week < b.week ? -1 : 1)),
      late: pendingLate,
      duplicates: pendingDuplicates,
    },
    partials,
    counted,
    late,
    duplicates,
    noReference,
  };
}

function byStation(a: StationPartial, b: StationPartial): number {
  return a.location < b.location
    ? -1
    : a.location > b.location
      ? 1
      : a.modelVersion < b.modelVersion
        ? -1
        : a.modelVersion > b.modelVersion
          ? 1
          : 0;
}

const GROUP_INDEXES = new WeakMap<DriftReference, Map<string, number>>();

/** Index of a station among the reference's groups, -1 when the reference does not know it. */
export function groupIndex(reference: DriftReference, location: string): number {
  let at = GROUP_INDEXES.get(reference);
  if (at === undefined) GROUP_INDEXES.set(reference, (at = new Map(reference.groups.map((g, i) => [g, i]))));
  return at.get(location) ?? -1;
}

function thresholdOf(reference: DriftReference | undefined): number {
  return reference?.performance?.threshold ?? 0.5;
}

function calibratedOf(reference: DriftReference | undefined, p: number): number {
  return reference?.performance
    ? calibrated(reference.performance.calibration, p, reference.options.calibrationPrior)
    : p;
}

function addPrediction(
  v: number[],
  e: Prediction,
  reference: DriftReference | undefined,
  layout: Int32Array | null,
  taskType: DriftTaskType,
): void {
  if (taskType === 'classification') {
    const p = e.probability;
    const expected = expectedOutcome(p, calibratedOf(reference, p), thresholdOf(reference));
    v[P.HIST + probabilityBin(p)]! += 1;
    v[P.EXPECTED_CORRECT]! += expected.correct;
    v[P.EXPECTED_BRIER]! += expected.brier;
    v[P.SUM_P]! += p;
  }
  const m = monthOfDate(e.date) - 1;
  v[P.MONTHS + m]! += 1;
  // Columns only where this (station, version) was opened with them: a partial's layout never changes.
  if (reference === undefined || layout === null || v.length < P.COLUMNS + layout.length * C.SIZE) return;
  const g = groupIndex(reference, e.location);
  for (let c = 0; c < layout.length; c++) {
    const column = reference.columns[c]!;
    const base = P.COLUMNS + c * C.SIZE;
    const x = e.values[layout[c]!]!;
    if (!(x === x)) {
      v[base + C.MISSING]! += 1;
      continue;
    }
    if (v[base + C.VALUED] === 0 || x < v[base + C.MIN]!) v[base + C.MIN] = x;
    if (v[base + C.VALUED] === 0 || x > v[base + C.MAX]!) v[base + C.MAX] = x;
    v[base + C.VALUED]! += 1;
    if (g < 0) continue;
    const mean = column.mean[g * SEASONS + m];
    if (mean === null || mean === undefined) continue;
    const d = x - mean;
    v[base + C.PRESENT]! += 1;
    v[base + C.SUM_D]! += d;
    v[base + C.SUM_D2]! += d * d;
    const sd = column.sd[g * SEASONS + m];
    if (sd !== null && sd !== undefined && sd > 0) {
      v[base + C.SUM_Z]! += d / sd;
      v[base + C.Z_COUNT]! += 1;
    }
  }
}

function addLabeled(v: number[], e: LabeledExample, reference: DriftReference | undefined): void {
  const p = e.probability;
  const y = e.label ? 1 : 0;
  const threshold = thresholdOf(reference);
  const expected = expectedOutcome(p, calibratedOf(reference, p), threshold);
  v[L.N]! += 1;
  if ((p >= threshold ? 1 : 0) === y) v[L.CORRECT]! += 1;
  v[L.BRIER]! += (p - y) * (p - y);
  v[L.POSITIVES]! += y;
  v[L.EXPECTED_CORRECT]! += expected.correct;
  v[L.EXPECTED_BRIER]! += expected.brier;
  const b = L.CALIBRATION + 3 * probabilityBin(p);
  v[b]! += 1;
  v[b + 1]! += p;
  v[b + 2]! += y;
}

function addRegressionLabeled(v: number[], e: LabeledExample): void {
  // The labeled stage writes a regression example with its served forecast and its target; one without
  // either says nothing about the errors (it is counted in the station's rows only).
  if (e.value === null || e.target === null || !Number.isFinite(e.value - e.target)) return;
  const err = e.value - e.target;
  v[R.N]! += 1;
  v[R.SUM_E]! += err;
  v[R.SUM_E2]! += err * err;
  v[R.SUM_AE]! += Math.abs(err);
}

export class DriftStateError extends TypedError<'DRIFT_STATE'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('DRIFT_STATE', message, options);
  }
}

export function serializePartitionState(state: PartitionState): string {
  return JSON.stringify(state);
}

export function parsePartitionState(text: string): PartitionState {
  const raw = JSON.parse(text) as Partial<PartitionState> | null;
  const isDate = (d: unknown) => d === null || (typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d));
  if (
    raw === null ||
    raw.v !== 2 ||
    !isDate(raw.watermark) ||
    !isDate(raw.closedThrough) ||
    !Array.isArray(raw.weeks) ||
    !raw.weeks.every(
      (w) =>
        isDate(w.week) &&
        Array.isArray(w.seen) &&
        Array.isArray(w.stations) &&
        w.stations.every((s) => typeof s.location === 'string' && Array.isArray(s.values)),
    ) ||
    typeof raw.late !== 'number' ||
    typeof raw.duplicates !== 'number'
  ) {
    throw new DriftStateError('stored drift partition state is not a v2 PartitionState');
  }
  return raw as PartitionState;
}
