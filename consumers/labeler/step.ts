/**
 * The 24 h label join. The prediction for (location, D) waits for the prediction of (location, D+1) of the
 * same task, whose facts are D's label: "the label arrives with the next day's observation" (rain: its
 * rainToday; max_temp: its MaxTemp, from the feature vector it carries; lib/models/tasks.ts declares each).
 * Both come from the predictions topic keyed by location, so one (task, location) join needs only that
 * join's state: the shell keeps one JSON value per (task, location) in Redis and passes each partition's
 * watermark to sweepExpired.
 */
import type { LabeledExample, Prediction } from '../../lib/domain/events.ts';
import { dayNumber, isCalendarDate } from '../../lib/domain/time.ts';
import {
  checkEventDate,
  checkKey,
  checkRain,
  type ObservationRules,
  type StepRejection,
} from '../../lib/domain/weather/validation.ts';
import { TypedError, type TypedErrorOptions } from '../../lib/platform/errors.ts';
import { isTaskName, TASKS } from '../../lib/models/tasks.ts';

/** What the labeled example of D needs, kept until D+1 arrives or the grace period ends. */
export interface PendingPrediction {
  date: string;
  featureSetVersion: string;
  values: number[];
  probability: number;
  /** A regression task's served forecast (absent for rain and for states stored before tasks). */
  value?: number | null;
  modelVersion: string;
}

/** Per-(task, location) join state. Store it with serializeJoinState: JSON alone would turn NaN features into null. */
export interface JoinState {
  v: 1;
  /** Absent: rain (states stored before tasks). */
  task?: string;
  location: string;
  /** Latest prediction date seen: anything at or before it is a duplicate or too late to join. */
  lastDate: string;
  pending: PendingPrediction | null;
}

export type MissingReason = 'label-unknown' | 'gap' | 'timeout';

/** The row written to ClickHouse actuals for every prediction, joined or not. */
export interface Actual {
  task: string;
  location: string;
  /** The predicted day D. */
  date: string;
  status: 'joined' | 'missing';
  reason: MissingReason | null;
  rainTomorrow: boolean | null;
  rainfallTomorrowMm: number | null;
  /** A regression task's outcome (the next day's MaxTemp for max_temp); null for rain or when missing. */
  actualValue: number | null;
}

/** The join a prediction belongs to: the location for rain (as before tasks), `<task>|<location>` else. */
export function stateIdOf(task: string, location: string): string {
  return task === 'rain' ? location : `${task}|${location}`;
}

/** The task and location of a join's id (stateIdOf's inverse). */
export function parseStateId(id: string): { task: string; location: string } {
  const bar = id.indexOf('|');
  return bar < 0 ? { task: 'rain', location: id } : { task: id.slice(0, bar), location: id.slice(bar + 1) };
}

export type JoinOutcome = 'pending' | 'joined' | 'missing' | 'duplicate' | 'late';

export interface LabelStepResult {
  labeled: LabeledExample[];
  actuals: Actual[];
  state: JoinState;
  /** What happened to the previous pending prediction ('pending' when there was none). */
  outcome: JoinOutcome;
}

export class JoinStateError extends TypedError<'JOIN_STATE'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('JOIN_STATE', message, options);
  }
}

function pendingOf(p: Prediction): PendingPrediction {
  return {
    date: p.date,
    featureSetVersion: p.featureSetVersion,
    values: p.values,
    probability: p.probability,
    ...(p.task === 'rain' ? {} : { value: p.value }),
    modelVersion: p.modelVersion,
  };
}

function missing(
  task: string,
  location: string,
  date: string,
  reason: MissingReason,
  rainfall: number | null = null,
): Actual {
  return {
    task,
    location,
    date,
    status: 'missing',
    reason,
    rainTomorrow: null,
    rainfallTomorrowMm: rainfall,
    actualValue: null,
  };
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
  const taskName = p.task ?? 'rain';
  if (state !== null && (state.location !== p.location || (state.task ?? 'rain') !== taskName)) {
    throw new JoinStateError(
      `join state of ${JSON.stringify(stateIdOf(state.task ?? 'rain', state.location))} given ${JSON.stringify(stateIdOf(taskName, p.location))}`,
    );
  }
  if (!isTaskName(taskName)) throw new JoinStateError(`unknown task ${JSON.stringify(taskName)}`);
  const task = TASKS[taskName];
  const next: JoinState = {
    v: 1,
    ...(taskName === 'rain' ? {} : { task: taskName }),
    location: p.location,
    lastDate: p.date,
    pending: pendingOf(p),
  };
  if (state === null) return { labeled: [], actuals: [], state: next, outcome: 'pending' };

  const gapDays = dayNumber(p.date) - dayNumber(state.lastDate);
  if (gapDays <= 0) {
    return { labeled: [], actuals: [], state, outcome: gapDays === 0 ? 'duplicate' : 'late' };
  }
  const d = state.pending;
  if (d === null) return { labeled: [], actuals: [], state: next, outcome: 'pending' };

  // d.date === state.lastDate here, so gapDays is the distance from D.
  if (gapDays > 1) {
    return {
      labeled: [],
      actuals: [missing(taskName, p.location, d.date, 'gap')],
      state: next,
      outcome: 'missing',
    };
  }
  const label = task.label({ rainToday: p.rainToday, values: p.values });
  if (label === null) {
    return {
      labeled: [],
      actuals: [missing(taskName, p.location, d.date, 'label-unknown', p.rainfall)],
      state: next,
      outcome: 'missing',
    };
  }
  const regression = task.type === 'regression';
  const example: LabeledExample = {
    task: taskName,
    location: p.location,
    date: d.date,
    featureSetVersion: d.featureSetVersion,
    values: d.values,
    label: !regression && label === 1,
    target: regression ? label : null,
    value: regression ? (d.value ?? null) : null,
    rainfallNext: p.rainfall,
    probability: d.probability,
    modelVersion: d.modelVersion,
  };
  const actual: Actual = {
    task: taskName,
    location: p.location,
    date: d.date,
    status: 'joined',
    reason: null,
    rainTomorrow: p.rainToday,
    rainfallTomorrowMm: p.rainfall,
    actualValue: regression ? label : null,
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
  // Day numbers, not date strings: no date arithmetic can fail on any day a state may hold.
  if (d === null || dayNumber(d.date) + 1 + graceDays >= dayNumber(watermark)) return { actuals: [], state };
  return {
    actuals: [missing(state.task ?? 'rain', state.location, d.date, 'timeout')],
    state: { ...state, pending: null },
  };
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
    typeof s.lastDate !== 'string' ||
    (s.task !== undefined && typeof s.task !== 'string')
  ) {
    throw new JoinStateError('stored join state is not a v1 JoinState');
  }
  if (s.pending !== null) {
    const values = s.pending.values as (number | null)[];
    s.pending.values = values.map((v) => (v === null ? NaN : v));
  }
  return s;
}

/**
 * Reads a stored join state, or null when it is not one this build can use (another layout, damaged,
 * dates that are not calendar days): the station's join then starts afresh instead of failing every
 * batch of its partition. Like parseJoinState otherwise.
 */
export function readJoinState(text: string, id?: string): JoinState | null {
  let s: JoinState;
  try {
    s = parseJoinState(text);
  } catch {
    return null;
  }
  if (id !== undefined && stateIdOf(s.task ?? 'rain', s.location) !== id) return null;
  if (!isCalendarDate(s.lastDate)) return null;
  if (
    s.pending !== null &&
    (typeof s.pending !== 'object' || !isCalendarDate(s.pending.date) || !Array.isArray(s.pending.values))
  ) {
    return null;
  }
  return s;
}

/**
 * Null when a decoded prediction may be joined; otherwise the field at fault and why. The predictor only
 * emits valid predictions; this guards the join state and the partition's event time against anything
 * else written to the topic (a far-future day would otherwise hold the station's join and time out every
 * pending label of the partition).
 */
export function checkPrediction(
  p: Prediction,
  rules: ObservationRules,
): { field: string; reason: string } | null {
  const station = rules.stations.check(p.location);
  if (station) return station;
  const date = checkEventDate(p.date, rules);
  if (date) return date;
  if (!isTaskName(p.task)) return { field: 'task', reason: `${JSON.stringify(p.task)} is not a known task` };
  if (TASKS[p.task].type === 'regression') {
    if (p.value === null || !Number.isFinite(p.value))
      return { field: 'value', reason: `${p.value} is not a forecast value` };
  } else if (!(p.probability >= 0 && p.probability <= 1)) {
    return { field: 'probability', reason: `${p.probability} is not a probability (0 to 1)` };
  }
  for (let i = 0; i < p.values.length; i++) {
    const v = p.values[i]!;
    if (v === Infinity || v === -Infinity)
      return { field: `values[${i}]`, reason: `${v} is not a feature value` };
  }
  return checkRain(p.rainToday, p.rainfall);
}

/**
 * The partition's event time for the sweep: the second-latest day among its stations (the latest when it
 * has one station). A single station cannot move it, so one record, even a valid one far ahead of the
 * others, cannot time out the pending labels of every other station of the partition. '' when no station
 * is known.
 */
export function partitionWatermark(stations: ReadonlyMap<string, JoinState>): string {
  let first = '';
  let second = '';
  for (const state of stations.values()) {
    const d = state.lastDate;
    if (d > first) {
      second = first;
      first = d;
    } else if (d > second) second = d;
  }
  return stations.size >= 2 ? second : first;
}

/**
 * One prediction (with its record key, when known) against its station's join: checked first, so a
 * prediction no stage should have made (a day past the horizon, another station's key) is refused with
 * its reason instead of holding the station's join.
 */
export function labelRecordStep(
  p: Prediction,
  state: JoinState | null,
  rules: ObservationRules,
  key?: string | null,
): LabelStepResult | { rejection: Omit<StepRejection, 'at'> } {
  const issue = checkPrediction(p, rules) ?? checkKey(key, p.location);
  if (issue) return { rejection: { kind: 'invalid', ...issue } };
  return labelStep(state, p);
}

/** The sweep of a partition's stations at its event time (partitionWatermark), updating `known` in place. */
export function sweepPartition(
  known: Map<string, JoinState>,
  graceDays: number,
): { watermark: string; actuals: Actual[]; changed: Map<string, JoinState> } {
  const actuals: Actual[] = [];
  const changed = new Map<string, JoinState>();
  const watermark = partitionWatermark(known);
  if (watermark === '') return { watermark, actuals, changed };
  for (const [location, state] of known) {
    const swept = sweepExpired(state, watermark, graceDays);
    if (swept.state === state) continue;
    actuals.push(...swept.actuals);
    known.set(location, swept.state);
    changed.set(location, swept.state);
  }
  return { watermark, actuals, changed };
}

export interface LabelBatchResult {
  labeled: LabeledExample[];
  actuals: Actual[];
  /** Join states that changed, by location: what the shell writes back. */
  changed: Map<string, JoinState>;
  outcomes: Record<JoinOutcome | 'invalid', number>;
  rejected: StepRejection[];
  /** The partition's event time after the batch (partitionWatermark). */
  watermark: string;
}

/**
 * The join over one partition's predictions in order, then the event-time sweep. `states` holds the join
 * states loaded for the batch's stations, `known` every station of the partition seen by this process with
 * its latest state (what the sweep looks at); both are updated in place. Re-delivered predictions (a date
 * at or before the station's last) are counted and skipped: the predictor emits each station's days in
 * order, so only a replayed batch brings them.
 */
export function labelBatchStep(
  events: readonly { event: Prediction; key?: string | null }[],
  states: Map<string, JoinState | null>,
  known: Map<string, JoinState>,
  graceDays: number,
  rules: ObservationRules,
): LabelBatchResult {
  const labeled: LabeledExample[] = [];
  const actuals: Actual[] = [];
  const changed = new Map<string, JoinState>();
  const outcomes: LabelBatchResult['outcomes'] = {
    pending: 0,
    joined: 0,
    missing: 0,
    duplicate: 0,
    late: 0,
    invalid: 0,
  };
  const rejected: StepRejection[] = [];
  for (let at = 0; at < events.length; at++) {
    const { event: p, key } = events[at]!;
    const id = stateIdOf(p.task ?? 'rain', p.location);
    const before = states.get(id) ?? null;
    const result = labelRecordStep(p, before, rules, key);
    if ('rejection' in result) {
      outcomes.invalid++;
      rejected.push({ at, ...result.rejection });
      continue;
    }
    outcomes[result.outcome]++;
    labeled.push(...result.labeled);
    actuals.push(...result.actuals);
    if (result.state !== before) {
      states.set(id, result.state);
      changed.set(id, result.state);
      known.set(id, result.state);
    } else if (before !== null) known.set(id, before);
  }
  const sweep = sweepPartition(known, graceDays);
  actuals.push(...sweep.actuals);
  for (const [location, state] of sweep.changed) {
    states.set(location, state);
    changed.set(location, state);
  }
  const watermark = sweep.watermark;
  return { labeled, actuals, changed, outcomes, rejected, watermark };
}
