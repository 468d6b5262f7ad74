/**
 * When to retrain, and on which rows. Retraining happens at event-time week boundaries (Mondays, like the
 * original project): the first labeled example dated in a new week means the previous week's labels are
 * in, since a label joins as soon as the next day's observation arrives. A replay can cross boundaries
 * faster than a model trains; then the boundaries coalesce into one pending run on the newest data, so the
 * backlog is at most one run however far the replay gets ahead. A week without any label (a hole in the
 * data, such as weatherAUS's April 2011) is not a week to retrain: the run that closes the last week with
 * data is due at that week's end, and the weeks of the hole count for nothing.
 *
 * Commands (schemas/command.avsc: an operator's "retrain now", drift's request for a full refit) run once
 * per command id, on every labeled row the trainer holds, outside the weekly schedule.
 */
import type { Command } from '../../lib/domain/events.ts';
import { addDays, daysBetween, mondayOf } from '../../lib/domain/time.ts';
import { TypedError, type TypedErrorOptions } from '../../lib/platform/errors.ts';

/**
 * Days a week boundary is crossed late: partitions are read in turn, so the stragglers of the week before
 * are in the history when its run starts. The trainer feeds `onLabeled` with date - this.
 */
export const BOUNDARY_GRACE_DAYS = 2;

export interface RetrainScheduleState {
  v: 2;
  /** Monday of the latest labeled date seen (shifted by the grace), or the boundary the schedule resumes at. */
  week: string | null;
  /** Whether a labeled example of `week` was seen: a week without one (a hole) has nothing to train on. */
  weekHasData: boolean;
  /** Weeks closed while a training was running (or before the history was rebuilt), folded into one run. */
  pending: { week: string; coalescedWeeks: number } | null;
  /** Last labeled date the current champion was trained on (null: the climatology prior). */
  championDataUntil: string | null;
}

export interface DueTraining {
  /** The boundary Monday: the run trains on labeled rows dated before it. */
  week: string;
  /**
   * Weeks of data this run stands for: 1 normally, more when runs coalesced (the stream outran the
   * training); 0 for a command's run, which stands for no week. The weeks of a hole are not counted.
   */
  coalescedWeeks: number;
  /** Last day of data the run may use (the Sunday before `week`, or the newest labeled day for a command). */
  dataUntil: string;
  /** Days from the champion's data end to dataUntil: how stale the serving model is; null with no champion. */
  staleness: number | null;
  /** Set when a command asked for the run: it is recorded with the run, and asks for a full refit. */
  command?: { id: string; reason: string; requestedBy: string };
}

export class RetrainScheduleError extends TypedError<'RETRAIN_SCHEDULE'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('RETRAIN_SCHEDULE', message, options);
  }
}

export function initialScheduleState(championDataUntil: string | null = null): RetrainScheduleState {
  return { v: 2, week: null, weekHasData: false, pending: null, championDataUntil };
}

/**
 * The state of a trainer that resumes after a run recorded at boundary `lastBoundary` (null: none): the
 * weeks before it are trained on, the week it starts has data only once a label of it is seen again.
 */
export function resumedScheduleState(
  lastBoundary: string | null,
  championDataUntil: string | null,
): RetrainScheduleState {
  return { ...initialScheduleState(championDataUntil), week: lastBoundary };
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
 * when a week with data is closed and no training is running (`busy` false); while busy (a training runs,
 * or the history is still being rebuilt) the week joins the pending run, which `onTrainingFinished` or
 * `takePending` hands out.
 */
export function onLabeled(
  state: RetrainScheduleState,
  date: string,
  busy: boolean,
): { due: DueTraining | null; state: RetrainScheduleState } {
  const week = mondayOf(date);
  if (state.week === null) return { due: null, state: { ...state, week, weekHasData: true } };
  if (week < state.week) return { due: null, state };
  if (week === state.week) {
    return { due: null, state: state.weekHasData ? state : { ...state, weekHasData: true } };
  }
  const moved: RetrainScheduleState = { ...state, week, weekHasData: true };
  // The week left behind had no label (a resumed schedule's first week falling in a hole): nothing to train.
  if (!state.weekHasData) return { due: null, state: moved };
  const boundary = addDays(state.week, 7);
  const coalesced = (state.pending?.coalescedWeeks ?? 0) + 1;
  if (busy) {
    return { due: null, state: { ...moved, pending: { week: boundary, coalescedWeeks: coalesced } } };
  }
  return { due: dueFor(state, boundary, coalesced), state: { ...moved, pending: null } };
}

/** The pending run, if any, handed out now (the history has been rebuilt, or a command's run ended). */
export function takePending(state: RetrainScheduleState): {
  due: DueTraining | null;
  state: RetrainScheduleState;
} {
  if (state.pending === null) return { due: null, state };
  return {
    due: dueFor(state, state.pending.week, state.pending.coalescedWeeks),
    state: { ...state, pending: null },
  };
}

/**
 * Called when a run ends (promoted or not). A promotion moves the champion's data end; the pending run, if
 * weeks were closed meanwhile, is due now.
 */
export function onTrainingFinished(
  state: RetrainScheduleState,
  result: { promoted: boolean; dataUntil: string },
): { due: DueTraining | null; state: RetrainScheduleState } {
  const championDataUntil = result.promoted ? result.dataUntil : state.championDataUntil;
  return takePending({ ...state, championDataUntil });
}

/** A champion changed outside a scheduled run (CLI promotion or rollback). */
export function onChampionChanged(
  state: RetrainScheduleState,
  dataUntil: string | null,
): RetrainScheduleState {
  return { ...state, championDataUntil: dataUntil };
}

/**
 * The run a command asks for: every labeled row held (the boundary is the Monday after the newest labeled
 * day), recorded under the command. Null when there is nothing to train on yet.
 */
export function commandTraining(
  state: RetrainScheduleState,
  newestLabeled: string | null,
  command: Pick<Command, 'id' | 'reason' | 'requestedBy'>,
): DueTraining | null {
  if (newestLabeled === null) return null;
  return {
    week: addDays(mondayOf(newestLabeled), 7),
    coalescedWeeks: 0,
    dataUntil: newestLabeled,
    staleness: state.championDataUntil === null ? null : daysBetween(state.championDataUntil, newestLabeled),
    command: { id: command.id, reason: command.reason, requestedBy: command.requestedBy },
  };
}

/** Why a command is not run: another kind, or its id ran already (redelivery, or sent twice). */
export type CommandSkip = 'unknown-kind' | 'already-run' | null;

export function commandSkip(
  command: Pick<Command, 'id' | 'kind'>,
  alreadyRun: (id: string) => boolean,
): CommandSkip {
  if (command.kind !== 'retrain') return 'unknown-kind';
  return alreadyRun(command.id) ? 'already-run' : null;
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
