/**
 * The 24 h label join. The prediction for (location, D) waits for the prediction of (location, D+1), whose
 * rainToday is D's label: "the label arrives with the next day's observation". Both come from the
 * predictions topic keyed by location, so one location's join needs only that location's state: the shell
 * keeps one JSON value per location (Redis) and passes each partition's watermark to sweepExpired.
 */
import type { LabeledExample, Prediction } from '../../lib/domain/events.ts';
import { addDays, dayNumber } from '../../lib/domain/time.ts';

/** What the labeled example of D needs, kept until D+1 arrives or the grace period ends. */
export interface PendingPrediction {
  date: string;
  featureSetVersion: string;
  values: number[];
  probability: number;
  modelVersion: string;
}

/** Per-location join state. Store it with serializeJoinState: JSON alone would turn NaN features into null. */
export interface JoinState {
  v: 1;
  location: string;
  /** Latest prediction date seen: anything at or before it is a duplicate or too late to join. */
  lastDate: string;
  pending: PendingPrediction | null;
}

export type MissingReason = 'label-unknown' | 'gap' | 'timeout';

/** The row written to ClickHouse actuals for every prediction, joined or not. */
export interface Actual {
  location: string;
  /** The predicted day D. */
  date: string;
  status: 'joined' | 'missing';
  reason: MissingReason | null;
  rainTomorrow: boolean | null;
  rainfallTomorrowMm: number | null;
}

export type JoinOutcome = 'pending' | 'joined' | 'missing' | 'duplicate' | 'late';

export interface LabelStepResult {
  labeled: LabeledExample[];
  actuals: Actual[];
  state: JoinState;
  /** What happened to the previous pending prediction ('pending' when there was none). */
  outcome: JoinOutcome;
}

export class JoinStateError extends Error {
  readonly code = 'JOIN_STATE';
}

function pendingOf(p: Prediction): PendingPrediction {
  return {
    date: p.date,
    featureSetVersion: p.featureSetVersion,
    values: p.values,
    probability: p.probability,
    modelVersion: p.modelVersion,
  };
}

function missing(
  location: string,
  date: string,
  reason: MissingReason,
  rainfall: number | null = null,
): Actual {
  return { location, date, status: 'missing', reason, rainTomorrow: null, rainfallTomorrowMm: rainfall };
}

/**
 * - D+1 arrives while D is pending: D is joined with label = rainToday of D+1; when that is null, D is
 *   recorded missing ('label-unknown') with whatever rainfall D+1 reported.
 * - A later day arrives while D is pending: D+1 was never observed, D is missing ('gap').
 * - A date at or before lastDate: a re-delivered or out-of-order prediction. Ignored, so a label is never
 *   emitted twice and a joined day is never re-opened.
 * In every case but the last, the new prediction becomes the pending one.
 */
export function labelStep(state: JoinState | null, p: Prediction): LabelStepResult {
  if (state !== null && state.location !== p.location) {
    throw new JoinStateError(
      `join state of ${JSON.stringify(state.location)} given ${JSON.stringify(p.location)}`,
    );
  }
  const next: JoinState = { v: 1, location: p.location, lastDate: p.date, pending: pendingOf(p) };
  if (state === null) return { labeled: [], actuals: [], state: next, outcome: 'pending' };

  const gapDays = dayNumber(p.date) - dayNumber(state.lastDate);
  if (gapDays <= 0) {
    return { labeled: [], actuals: [], state, outcome: gapDays === 0 ? 'duplicate' : 'late' };
  }
  const d = state.pending;
  if (d === null) return { labeled: [], actuals: [], state: next, outcome: 'pending' };

  // d.date === state.lastDate here, so gapDays is the distance from D.
  if (gapDays > 1) {
    return { labeled: [], actuals: [missing(p.location, d.date, 'gap')], state: next, outcome: 'missing' };
  }
  if (p.rainToday === null) {
    return {
      labeled: [],
      actuals: [missing(p.location, d.date, 'label-unknown', p.rainfall)],
      state: next,
      outcome: 'missing',
    };
  }
  const example: LabeledExample = {
    location: p.location,
    date: d.date,
    featureSetVersion: d.featureSetVersion,
    values: d.values,
    label: p.rainToday,
    rainfallNext: p.rainfall,
    probability: d.probability,
    modelVersion: d.modelVersion,
  };
  const actual: Actual = {
    location: p.location,
    date: d.date,
    status: 'joined',
    reason: null,
    rainTomorrow: p.rainToday,
    rainfallTomorrowMm: p.rainfall,
  };
  return { labeled: [example], actuals: [actual], state: next, outcome: 'joined' };
}

/**
 * Event-time grace: the pending D is given up as missing ('timeout') once D+1+graceDays < watermark, where
 * the watermark is the latest date the shell has seen on the partition. Without it, a station that stops
 * reporting would hold its last prediction unlabeled forever. lastDate is kept, so a very late D+1 is not
 * joined afterwards and D is never recorded twice. Sweep with the watermark reached before the batch being
 * applied, never one raised by that batch: otherwise a D whose D+1 sits in the same batch could time out.
 * Whether a long hole ends as 'gap' or 'timeout' then depends on batch timing; both mean "missing".
 */
export function sweepExpired(
  state: JoinState,
  watermark: string,
  graceDays: number,
): { actuals: Actual[]; state: JoinState } {
  if (!(Number.isInteger(graceDays) && graceDays >= 0)) {
    throw new JoinStateError(`graceDays must be a whole number of days, got ${graceDays}`);
  }
  const d = state.pending;
  if (d === null || addDays(d.date, 1 + graceDays) >= watermark) return { actuals: [], state };
  return { actuals: [missing(state.location, d.date, 'timeout')], state: { ...state, pending: null } };
}

/** JSON text of a join state, NaN feature values written as null (JSON has no NaN). */
export function serializeJoinState(state: JoinState): string {
  return JSON.stringify(state);
}

/** Reads serializeJoinState's text back, null feature values becoming NaN again. */
export function parseJoinState(text: string): JoinState {
  const s = JSON.parse(text) as JoinState;
  if (
    s === null ||
    typeof s !== 'object' ||
    s.v !== 1 ||
    typeof s.location !== 'string' ||
    typeof s.lastDate !== 'string'
  ) {
    throw new JoinStateError('stored join state is not a v1 JoinState');
  }
  if (s.pending !== null) {
    const values = s.pending.values as (number | null)[];
    s.pending.values = values.map((v) => (v === null ? NaN : v));
  }
  return s;
}
