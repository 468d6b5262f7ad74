/**
 * When to retrain, and on which rows. Retraining happens at event-time week boundaries (Mondays, like the
 * original project): the first labeled example dated in a new week means the previous week's labels are
 * in, since a label joins as soon as the next day's observation arrives. A replay can cross boundaries
 * faster than a model trains; then the boundaries coalesce into one pending run on the newest data, so the
 * backlog is at most one run however far the replay gets ahead.
 */
import { addDays, daysBetween, mondayOf } from '../../lib/domain/time.ts';
import { TypedError, type TypedErrorOptions } from '../../lib/platform/errors.ts';

/**
 * Days a week boundary is crossed late: partitions are read in turn, so the stragglers of the week before
 * are in the history when its run starts. The trainer feeds `onLabeled` with date - this.
 */
export const BOUNDARY_GRACE_DAYS = 2;

export interface RetrainScheduleState {
  v: 1;
  /** Monday of the latest labeled date seen. */
  week: string | null;
  /** Boundaries crossed while a training was running, folded into one run. */
  pending: { week: string; coalescedWeeks: number } | null;
  /** Last labeled date the current champion was trained on (null: the climatology prior). */
  championDataUntil: string | null;
}

export interface DueTraining {
  /** The boundary Monday: the run trains on labeled rows dated before it. */
  week: string;
  /** Boundaries this run stands for: 1 normally, more when runs coalesced or the stream skipped weeks. */
  coalescedWeeks: number;
  /** Last day of data the run may use (the Sunday before `week`). */
  dataUntil: string;
  /** Days from the champion's data end to dataUntil: how stale the serving model is; null with no champion. */
  staleness: number | null;
}

export class RetrainScheduleError extends TypedError<'RETRAIN_SCHEDULE'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('RETRAIN_SCHEDULE', message, options);
  }
}

export function initialScheduleState(championDataUntil: string | null = null): RetrainScheduleState {
  return { v: 1, week: null, pending: null, championDataUntil };
}

function dueFor(state: RetrainScheduleState, week: string, coalescedWeeks: number): DueTraining {
  const dataUntil = addDays(week, -1);
  return {
    week,
    coalescedWeeks,
    dataUntil,
    staleness: state.championDataUntil === null ? null : daysBetween(state.championDataUntil, dataUntil),
  };
}

/**
 * Called for each labeled example's date (in any order; older dates change nothing). Returns a run to start
 * when a boundary is crossed and no training is running; with one running, the boundary joins the pending
 * run, which `onTrainingFinished` hands out.
 */
export function onLabeled(
  state: RetrainScheduleState,
  date: string,
  trainingRunning: boolean,
): { due: DueTraining | null; state: RetrainScheduleState } {
  const week = mondayOf(date);
  if (state.week === null) return { due: null, state: { ...state, week } };
  if (week <= state.week) return { due: null, state };
  const crossed = daysBetween(state.week, week) / 7;
  const coalesced = (state.pending?.coalescedWeeks ?? 0) + crossed;
  if (trainingRunning) {
    return { due: null, state: { ...state, week, pending: { week, coalescedWeeks: coalesced } } };
  }
  return { due: dueFor(state, week, coalesced), state: { ...state, week, pending: null } };
}

/**
 * Called when a run ends (promoted or not). A promotion moves the champion's data end; the pending run, if
 * boundaries were crossed meanwhile, is due now.
 */
export function onTrainingFinished(
  state: RetrainScheduleState,
  result: { promoted: boolean; dataUntil: string },
): { due: DueTraining | null; state: RetrainScheduleState } {
  const championDataUntil = result.promoted ? result.dataUntil : state.championDataUntil;
  const next: RetrainScheduleState = { ...state, championDataUntil, pending: null };
  if (state.pending === null) return { due: null, state: next };
  return { due: dueFor(next, state.pending.week, state.pending.coalescedWeeks), state: next };
}

/** A champion changed outside a scheduled run (CLI promotion or rollback). */
export function onChampionChanged(
  state: RetrainScheduleState,
  dataUntil: string | null,
): RetrainScheduleState {
  return { ...state, championDataUntil: dataUntil };
}

export interface TrainingWindow {
  /** Training rows: every labeled row dated before this (the whole history, no lower bound). */
  validationStart: string;
  /** Validation rows: validationStart <= date < boundary, the last `validationWeeks` weeks. */
  boundary: string;
}

/**
 * The split policy: validate on the last `validationWeeks` weeks before the boundary, train on all labeled
 * rows before them. Chronological, so validation scores the model on days after everything it learned
 * from, as the stream will.
 */
export function trainingWindow(boundary: string, validationWeeks = 8): TrainingWindow {
  if (!(Number.isInteger(validationWeeks) && validationWeeks >= 1)) {
    throw new RetrainScheduleError(`validationWeeks must be a positive whole number, got ${validationWeeks}`);
  }
  if (mondayOf(boundary) !== boundary) throw new RetrainScheduleError(`boundary ${boundary} is not a Monday`);
  return { validationStart: addDays(boundary, -7 * validationWeeks), boundary };
}

/** Row indices of the training and validation parts, in input order; rows on or after the boundary are left out. */
export function splitRows(
  dates: readonly string[],
  window: TrainingWindow,
): { train: Int32Array; validation: Int32Array } {
  let nTrain = 0;
  let nValidation = 0;
  for (const d of dates) {
    if (d < window.validationStart) nTrain++;
    else if (d < window.boundary) nValidation++;
  }
  const train = new Int32Array(nTrain);
  const validation = new Int32Array(nValidation);
  nTrain = 0;
  nValidation = 0;
  for (let i = 0; i < dates.length; i++) {
    const d = dates[i]!;
    if (d < window.validationStart) train[nTrain++] = i;
    else if (d < window.boundary) validation[nValidation++] = i;
  }
  return { train, validation };
}
