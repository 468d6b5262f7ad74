/**
 * The features stage's pure step: an observation and its station's window in, the day's feature vector
 * (or why there is none) and the new window out. The window arithmetic is the domain's
 * (lib/domain/features/station-window.ts), shared with training and the API.
 *
 * The batch step is where the stream's event-time policy lives, so a test can drive it record by record:
 * - an observation that breaks the domain validation (./validation.ts: a date past the horizon or outside
 *   the storable range, an unknown station, nonsense readings) is rejected before it touches any state;
 * - a station's day seen again with the same readings is a silent no-op (a re-delivery);
 * - a station's day seen again with other readings is a conflict: the first version stays, the second is
 *   rejected with both versions;
 * - a day older than the station's latest, never seen, is late: recorded, no forecast made (inside the
 *   window it still joins the lags of the days after it, as before).
 * To tell a re-delivery from a conflict, the state keeps a fingerprint of each day in the window; to
 * tell an old re-delivery from a late day, the ranges of days seen (a handful per station: the data set
 * has at most 5). Older states without them are read as "unknown": a repeat is then taken as a re-delivery.
 */
import type { FeatureVector, Observation } from '../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import {
  featuresStepInto,
  WINDOW_DAYS,
  type FeaturesOutcome,
  type StationDay,
  type StationState,
} from '../../lib/domain/features/station-window.ts';
import { dayNumber, fromDayNumber } from '../../lib/domain/time.ts';
import {
  checkKey,
  checkObservation,
  firstIssue,
  type ObservationRules,
  type StepRejection,
} from '../../lib/domain/weather/validation.ts';

export interface FeaturesStepResult {
  output: FeatureVector | null;
  state: StationState;
  outcome: FeaturesOutcome;
}

/**
 * Duplicates and late days give no output (see featuresStepInto for why); `ingestedAt` is carried so the
 * predictor can measure observation-to-prediction latency. No validation: callers validate first.
 */
export function featuresStep(
  state: StationState | null,
  obs: Observation,
  ingestedAt: number,
): FeaturesStepResult {
  const values = new Array<number>(FEATURE_NAMES.length);
  const { state: next, outcome } = featuresStepInto(state, obs, values, 0, 1);
  if (outcome !== 'emitted') return { output: null, state: next, outcome };
  const output: FeatureVector = {
    location: obs.location,
    date: obs.date,
    featureSetVersion: FEATURE_SET_VERSION,
    values,
    rainToday: obs.rainToday,
    rainfall: obs.rainfall,
    ingestedAt,
  };
  return { output, state: next, outcome };
}

/** What the stream's state adds to a window: see the module comment. Plain JSON, like the rest. */
interface StreamDay extends StationDay {
  /** Fingerprint of the day's readings (fingerprintOf). */
  fp?: number;
}
export interface StreamStationState extends StationState {
  days: StreamDay[];
  /** Day ranges seen, [first, last] inclusive, ascending; at most MAX_SEEN_RANGES, oldest dropped. */
  seen?: [string, string][];
}

/** Past this, the oldest range is forgotten: a repeat of one of its days is then recorded as late. */
export const MAX_SEEN_RANGES = 64;

/** FNV-1a over the readings (not location, date or source): equal readings, equal fingerprint. */
export function fingerprintOf(o: Observation): number {
  const text = [
    o.minTemp,
    o.maxTemp,
    o.rainfall,
    o.evaporation,
    o.sunshine,
    o.windGustDir,
    o.windGustSpeed,
    o.windDir9am,
    o.windDir3pm,
    o.windSpeed9am,
    o.windSpeed3pm,
    o.humidity9am,
    o.humidity3pm,
    o.pressure9am,
    o.pressure3pm,
    o.cloud9am,
    o.cloud3pm,
    o.temp9am,
    o.temp3pm,
    o.rainToday,
  ].join('|');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function seenContains(seen: readonly [string, string][], date: string): boolean {
  for (const [from, to] of seen) if (date >= from && date <= to) return true;
  return false;
}

/** `seen` with `date` added (merging neighbours), bounded to MAX_SEEN_RANGES. */
function withSeen(seen: readonly [string, string][], date: string): [string, string][] {
  const d = dayNumber(date);
  const ranges = seen.map(([a, b]) => [dayNumber(a), dayNumber(b)] as [number, number]);
  ranges.push([d, d]);
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const kept = merged.length > MAX_SEEN_RANGES ? merged.slice(merged.length - MAX_SEEN_RANGES) : merged;
  return kept.map(([a, b]) => [fromDayNumber(a), fromDayNumber(b)]);
}

/** The common case, a day right after the last range: extend it without re-sorting everything. */
function seenAfterEmit(
  seen: readonly [string, string][] | undefined,
  date: string,
  state: StationState | null,
) {
  if (seen === undefined) {
    // First day of the station, or a state written before `seen` existed: what it knew is firstDate..lastDate.
    return state === null
      ? [[date, date] as [string, string]]
      : withSeen([[state.firstDate, state.lastDate]], date);
  }
  const last = seen[seen.length - 1];
  if (last && dayNumber(date) === dayNumber(last[1]) + 1)
    return [...seen.slice(0, -1), [last[0], date] as [string, string]];
  return withSeen(seen, date);
}

const KEPT_READINGS = [
  'rainfall',
  'humidity3pm',
  'pressure3pm',
  'temp3pm',
  'cloud3pm',
  'sunshine',
  'windGustSpeed',
] as const satisfies readonly (keyof StationDay & keyof Observation)[];

/** The first reading the kept day and the new version disagree on, among those the window keeps. */
function firstDifference(kept: StationDay, o: Observation): string | null {
  for (const field of KEPT_READINGS) if (kept[field] !== o[field]) return field;
  const rain = o.rainToday ?? (o.rainfall === null ? null : o.rainfall > 1);
  return kept.rain !== rain ? 'rainToday' : null;
}

/** What one observation did: its forecast features, the station's new window, and what to record. */
export interface FeaturesRecordResult {
  output: FeatureVector | null;
  /** The station's window after the record; the same object when the record changed nothing. */
  state: StationState | null;
  outcome: FeaturesOutcome | 'invalid' | 'conflict';
  /** Set when the record must be recorded (the shell sends it to the DLQ); see the module comment. */
  rejection?: Omit<StepRejection, 'at'>;
}

/**
 * One observation against its station's window, with the stream's event-time policy (module comment).
 * `key`, when given, must be the observation's station; `rules` validate it (their clock is the caller's).
 */
export function featuresRecordStep(
  event: Observation,
  before: StationState | null,
  ingestedAt: number,
  rules: ObservationRules,
  key?: string | null,
): FeaturesRecordResult {
  const issues = checkObservation(event, rules);
  const keyIssue = checkKey(key, event.location);
  if (keyIssue) issues.push({ ...keyIssue, rule: 'station' });
  if (issues.length > 0) {
    return {
      output: null,
      state: before,
      outcome: 'invalid',
      rejection: { kind: 'invalid', ...firstIssue(issues) },
    };
  }
  const stream = before as StreamStationState | null;
  const fp = fingerprintOf(event);
  if (stream !== null && event.date <= stream.lastDate) {
    const kept = stream.days.find((d) => d.date === event.date);
    if (kept !== undefined) {
      if (kept.fp === undefined || kept.fp === fp)
        return { output: null, state: before, outcome: 'duplicate' };
      const differs = firstDifference(kept, event);
      return {
        output: null,
        state: before,
        outcome: 'conflict',
        rejection: {
          kind: 'conflict',
          field: differs ?? 'observation',
          reason: `${event.location} ${event.date} was already processed with other readings (${
            differs === null ? 'in a reading the window does not keep' : `${differs} differs`
          }); the first version is kept`,
          conflicting: kept,
        },
      };
    }
    const old = dayNumber(event.date) <= dayNumber(stream.lastDate) - WINDOW_DAYS;
    // A state written before `seen` existed knew at least its first to last day.
    const seen = stream.seen ?? [[stream.firstDate, stream.lastDate]];
    // A day processed before and no longer in the window: a re-delivery (readings not comparable).
    if (old && seenContains(seen, event.date)) return { output: null, state: before, outcome: 'duplicate' };
  }
  const result = featuresStep(before, event, ingestedAt);
  if (result.outcome === 'duplicate') return { output: null, state: before, outcome: 'duplicate' };
  const rejection: FeaturesRecordResult['rejection'] =
    result.outcome === 'late'
      ? {
          kind: 'late',
          field: 'date',
          reason: `${event.date} arrived after ${stream!.lastDate} of ${event.location}: no forecast is made for a past day${
            result.state !== before ? ' (it still serves the lags of the days after it)' : ''
          }`,
        }
      : undefined;
  if (result.state === before)
    return { output: result.output, state: before, outcome: result.outcome, rejection };
  const next = result.state as StreamStationState;
  const day = next.days.find((d) => d.date === event.date);
  if (day) day.fp = fp; // a day object the step just made for this event
  next.seen =
    result.outcome === 'emitted'
      ? seenAfterEmit(stream?.seen, event.date, before)
      : withSeen(stream?.seen ?? [], event.date);
  return { output: result.output, state: next, outcome: result.outcome, rejection };
}

export interface FeaturesBatchResult {
  outputs: FeatureVector[];
  /** States that changed, by location: what the shell writes back. */
  changed: Map<string, StationState>;
  outcomes: Record<FeaturesOutcome | 'invalid' | 'conflict', number>;
  /** Events not turned into a forecast that must be recorded (the shell sends them to the DLQ). */
  rejected: StepRejection[];
}

/**
 * featuresRecordStep over one partition's observations in order (tests drive the stage with it, record by
 * record). `states` holds the stations' windows as loaded and is updated in place, so a station seen twice
 * in the batch sees its own earlier day.
 */
export function featuresBatchStep(
  events: readonly { event: Observation; ingestedAt: number; key?: string | null }[],
  states: Map<string, StationState | null>,
  rules: ObservationRules,
): FeaturesBatchResult {
  const outputs: FeatureVector[] = [];
  const changed = new Map<string, StationState>();
  const outcomes: FeaturesBatchResult['outcomes'] = {
    emitted: 0,
    duplicate: 0,
    late: 0,
    invalid: 0,
    conflict: 0,
  };
  const rejected: StepRejection[] = [];
  for (let at = 0; at < events.length; at++) {
    const { event, ingestedAt, key } = events[at]!;
    const before = states.get(event.location) ?? null;
    const result = featuresRecordStep(event, before, ingestedAt, rules, key);
    outcomes[result.outcome]++;
    if (result.rejection) rejected.push({ at, ...result.rejection });
    if (result.state !== before && result.state !== null) {
      states.set(event.location, result.state);
      changed.set(event.location, result.state);
    }
    if (result.output) outputs.push(result.output);
  }
  return { outputs, changed, outcomes, rejected };
}
