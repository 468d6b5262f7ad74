/**
 * A station's recent days and the features of its next day computed from them. Pure; the features stage
 * keeps `StationState` in Redis (one JSON value per location) and rebuilds it from the observations log
 * when Redis is empty, and `buildTrainingMatrix` runs the same function over the CSV, so training and
 * serving cannot drift apart.
 */
import type { Observation } from '../events.ts';
import { COMPASS_POINTS, type CompassPoint } from '../weather/observation.ts';
import { dateParts, dayNumber, fromDayNumber, type DateParts } from '../time.ts';
import { DAYS_SINCE_RAIN_CAP, FEATURE_NAMES, RAIN_WINDOWS, locationCode } from './feature-set.ts';
import { TypedError, type TypedErrorOptions } from '../../platform/errors.ts';

/**
 * Days of history kept: D-6 .. D after D is processed, which is exactly what the next day's 7-day window
 * (D+1-7 .. D) reads. Days are matched by date, so a gap leaves a hole instead of pulling in older days.
 */
export const WINDOW_DAYS = 7;

/** What one past day contributes to later features: only the fields lags and windows read. */
export interface StationDay {
  date: string;
  rainfall: number | null;
  /** Rain on that day (RainToday, else rainfall > 1 mm, the Bureau's definition); null when unknown. */
  rain: boolean | null;
  humidity3pm: number | null;
  pressure3pm: number | null;
  temp3pm: number | null;
  cloud3pm: number | null;
  sunshine: number | null;
  windGustSpeed: number | null;
}

/** Per-location state: plain JSON (nulls, strings, numbers), a few hundred bytes. */
export interface StationState {
  /** State layout version, so a shell can discard state written by an incompatible build. */
  v: 1;
  location: string;
  /** Latest date processed (emitted). */
  lastDate: string;
  /** Earliest date seen: lets days-since-rain say "dry for at least the cap" instead of NaN. */
  firstDate: string;
  /** Latest date with observed rain, kept beyond the window because days-since-rain looks back 30 days. */
  lastRainDate: string | null;
  /** Days within WINDOW_DAYS of lastDate, ascending by date. */
  days: StationDay[];
}

/**
 * Reads a stored StationState. One policy for every reader: a value that is not a v1 state of this
 * location (written by an incompatible build, or damaged) is treated as no state, so the features stage
 * starts the station's window afresh (it refills in a week) and the API answers from no history rather
 * than failing the request. Callers count such drops.
 */
export function parseStationState(text: string | null, location: string): StationState | null {
  if (text === null) return null;
  let s: Partial<StationState> | null;
  try {
    s = JSON.parse(text) as Partial<StationState> | null;
  } catch {
    return null;
  }
  return s !== null &&
    typeof s === 'object' &&
    s.v === 1 &&
    s.location === location &&
    typeof s.lastDate === 'string' &&
    typeof s.firstDate === 'string' &&
    Array.isArray(s.days)
    ? (s as StationState)
    : null;
}

export type FeaturesOutcome = 'emitted' | 'duplicate' | 'late';

export class FeatureStateError extends TypedError<'FEATURE_STATE'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('FEATURE_STATE', message, options);
  }
}

// Sines and cosines of the few angles features use, computed once: trigonometry was a third of the step.
const DIRECTION_SIN = new Map<CompassPoint, number>(
  COMPASS_POINTS.map((p, i) => [p, Math.sin((i * Math.PI) / 8)]),
);
const DIRECTION_COS = new Map<CompassPoint, number>(
  COMPASS_POINTS.map((p, i) => [p, Math.cos((i * Math.PI) / 8)]),
);
const MONTH_SIN = Float64Array.from({ length: 12 }, (_, m) => Math.sin((2 * Math.PI * m) / 12));
const MONTH_COS = Float64Array.from({ length: 12 }, (_, m) => Math.cos((2 * Math.PI * m) / 12));
/** [0..365) for 365-day years, then [365..731) for leap years, indexed by dayOfYear - 1. */
const YEAR_SIN = Float64Array.from({ length: 365 + 366 }, (_, i) =>
  i < 365 ? Math.sin((2 * Math.PI * i) / 365) : Math.sin((2 * Math.PI * (i - 365)) / 366),
);
const YEAR_COS = Float64Array.from({ length: 365 + 366 }, (_, i) =>
  i < 365 ? Math.cos((2 * Math.PI * i) / 365) : Math.cos((2 * Math.PI * (i - 365)) / 366),
);

function num(v: number | null): number {
  return v === null ? NaN : v;
}

function rainOf(obs: Observation): boolean | null {
  if (obs.rainToday !== null) return obs.rainToday;
  return obs.rainfall === null ? null : obs.rainfall > 1;
}

function dayOf(obs: Observation): StationDay {
  return {
    date: obs.date,
    rainfall: obs.rainfall,
    rain: rainOf(obs),
    humidity3pm: obs.humidity3pm,
    pressure3pm: obs.pressure3pm,
    temp3pm: obs.temp3pm,
    cloud3pm: obs.cloud3pm,
    sunshine: obs.sunshine,
    windGustSpeed: obs.windGustSpeed,
  };
}

/**
 * One observation applied to its station's window. On 'emitted', feature j is written to
 * `out[base + j * stride]` (stride 1 for a row, stride nRows for a column-major matrix): the features stage
 * (consumers/features/step.ts) and `buildTrainingMatrix` both run it, so training runs the very code the
 * stream runs, minus one array allocation per row.
 *
 * Duplicate and late events:
 * - duplicate (the date was already processed): no output, state unchanged. The first version of a day
 *   wins; a re-delivery after a producer retry or a second replay must not emit a second prediction.
 * - late (older than lastDate, not seen): no output, because everything downstream (label join, drift
 *   weeks) relies on each location's stream moving forward in date, and the predictions for the days after
 *   it were already made. If the day still lies inside the window it is inserted, so the days that follow
 *   see it in their lags and the state equals the in-order one. Older than the window it can change no lag
 *   or window feature and is dropped, state unchanged; only days-since-rain could have used it, and keeps
 *   counting from the rain seen in order.
 */
export function featuresStepInto(
  state: StationState | null,
  obs: Observation,
  out: Float64Array | number[],
  base: number,
  stride: number,
): { state: StationState; outcome: FeaturesOutcome } {
  if (state !== null && state.location !== obs.location) {
    throw new FeatureStateError(
      `state of ${JSON.stringify(state.location)} given an observation of ${JSON.stringify(obs.location)}`,
    );
  }
  const parts = dateParts(obs.date);
  const d = parts.dayNumber;
  if (state !== null) {
    const last = dayNumber(state.lastDate);
    if (d <= last) {
      if (d === last || state.days.some((day) => day.date === obs.date))
        return { state, outcome: 'duplicate' };
      if (d <= last - WINDOW_DAYS) return { state, outcome: 'late' };
      return { state: insertLate(state, obs), outcome: 'late' };
    }
  }
  computeFeatures(state, obs, parts, out, base, stride);
  return { state: advance(state, obs, d), outcome: 'emitted' };
}

/** The state after emitting `obs`: the window slides to end at D, dropping days older than D-6. */
function advance(state: StationState | null, obs: Observation, d: number): StationState {
  const today = dayOf(obs);
  const days: StationDay[] = [];
  if (state !== null) {
    // YYYY-MM-DD strings order like dates: one conversion instead of parsing every kept day.
    const oldest = fromDayNumber(d - WINDOW_DAYS + 1);
    for (const day of state.days) if (day.date >= oldest) days.push(day);
  }
  days.push(today);
  return {
    v: 1,
    location: obs.location,
    lastDate: obs.date,
    firstDate: state === null ? obs.date : state.firstDate,
    lastRainDate: today.rain === true ? obs.date : (state?.lastRainDate ?? null),
    days,
  };
}

function insertLate(state: StationState, obs: Observation): StationState {
  const late = dayOf(obs);
  const days = [...state.days, late].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const newerRain = late.rain === true && (state.lastRainDate === null || obs.date > state.lastRainDate);
  return {
    ...state,
    firstDate: obs.date < state.firstDate ? obs.date : state.firstDate,
    lastRainDate: newerRain ? obs.date : state.lastRainDate,
    days,
  };
}

const MAX_WINDOW = Math.max(...RAIN_WINDOWS);

/**
 * Writes the fs1 features of `obs` (day number `d`) into `out` (strided), reading the history in `state`, which holds
 * only days before `d`. The order here is FEATURE_NAMES' order; feature-set.test checks they agree.
 */
function computeFeatures(
  state: StationState | null,
  obs: Observation,
  parts: DateParts,
  out: Float64Array | number[],
  base: number,
  stride: number,
): void {
  const d = parts.dayNumber;
  // byOffset[k] = the day D-k when it was observed, else undefined (a hole, never an older day).
  const byOffset: (StationDay | undefined)[] = new Array(MAX_WINDOW + 1);
  if (state !== null) {
    for (const day of state.days) {
      const k = d - dayNumber(day.date);
      if (k >= 1 && k <= MAX_WINDOW) byOffset[k] = day;
    }
  }
  let i = 0;
  // Spelled out rather than looped over RAW_FEATURES: a keyed load with 16 different names is megamorphic
  // and cost more than the rest of the row. feature-set.test checks this order against FEATURE_NAMES.
  out[base + stride * i++] = num(obs.minTemp);
  out[base + stride * i++] = num(obs.maxTemp);
  out[base + stride * i++] = num(obs.rainfall);
  out[base + stride * i++] = num(obs.evaporation);
  out[base + stride * i++] = num(obs.sunshine);
  out[base + stride * i++] = num(obs.windGustSpeed);
  out[base + stride * i++] = num(obs.windSpeed9am);
  out[base + stride * i++] = num(obs.windSpeed3pm);
  out[base + stride * i++] = num(obs.humidity9am);
  out[base + stride * i++] = num(obs.humidity3pm);
  out[base + stride * i++] = num(obs.pressure9am);
  out[base + stride * i++] = num(obs.pressure3pm);
  out[base + stride * i++] = num(obs.cloud9am);
  out[base + stride * i++] = num(obs.cloud3pm);
  out[base + stride * i++] = num(obs.temp9am);
  out[base + stride * i++] = num(obs.temp3pm);
  // Compass bearing (N = 0, clockwise) on the unit circle, so NNW and N are neighbours; NaN when missing.
  out[base + stride * i++] = obs.windGustDir === null ? NaN : (DIRECTION_SIN.get(obs.windGustDir) ?? NaN);
  out[base + stride * i++] = obs.windGustDir === null ? NaN : (DIRECTION_COS.get(obs.windGustDir) ?? NaN);
  out[base + stride * i++] = obs.windDir9am === null ? NaN : (DIRECTION_SIN.get(obs.windDir9am) ?? NaN);
  out[base + stride * i++] = obs.windDir9am === null ? NaN : (DIRECTION_COS.get(obs.windDir9am) ?? NaN);
  out[base + stride * i++] = obs.windDir3pm === null ? NaN : (DIRECTION_SIN.get(obs.windDir3pm) ?? NaN);
  out[base + stride * i++] = obs.windDir3pm === null ? NaN : (DIRECTION_COS.get(obs.windDir3pm) ?? NaN);
  out[base + stride * i++] = obs.rainToday === null ? NaN : obs.rainToday ? 1 : 0;

  const m = parts.month;
  out[base + stride * i++] = m;
  out[base + stride * i++] = MONTH_SIN[m - 1]!;
  out[base + stride * i++] = MONTH_COS[m - 1]!;
  const yearAt = parts.dayOfYear - 1 + (parts.daysInYear === 366 ? 365 : 0);
  out[base + stride * i++] = YEAR_SIN[yearAt]!;
  out[base + stride * i++] = YEAR_COS[yearAt]!;
  out[base + stride * i++] = locationCode(obs.location);

  out[base + stride * i++] = num(obs.maxTemp) - num(obs.minTemp);
  out[base + stride * i++] = num(obs.humidity3pm) - num(obs.humidity9am);
  out[base + stride * i++] = num(obs.pressure3pm) - num(obs.pressure9am);
  out[base + stride * i++] = num(obs.temp3pm) - num(obs.temp9am);

  // Windows over D-k .. D-1: D's own rainfall is already a raw feature. Sums and counts run over the days
  // whose value is known; a window with no known day is NaN rather than a misleading 0.
  for (const k of RAIN_WINDOWS) {
    let sum = 0;
    let known = 0;
    for (let o = 1; o <= k; o++) {
      const r = byOffset[o]?.rainfall;
      if (r !== undefined && r !== null) {
        sum += r;
        known++;
      }
    }
    out[base + stride * i++] = known === 0 ? NaN : sum;
  }
  for (const k of RAIN_WINDOWS) {
    let count = 0;
    let known = 0;
    for (let o = 1; o <= k; o++) {
      const r = byOffset[o]?.rain;
      if (r !== undefined && r !== null) {
        if (r) count++;
        known++;
      }
    }
    out[base + stride * i++] = known === 0 ? NaN : count;
  }

  const lastRain = rainOf(obs) === true ? obs.date : (state?.lastRainDate ?? null);
  if (lastRain !== null) out[base + stride * i++] = Math.min(DAYS_SINCE_RAIN_CAP, d - dayNumber(lastRain));
  else if (state !== null && d - dayNumber(state.firstDate) >= DAYS_SINCE_RAIN_CAP)
    out[base + stride * i++] = DAYS_SINCE_RAIN_CAP;
  else out[base + stride * i++] = NaN;

  const prev = byOffset[1];
  out[base + stride * i++] = num(obs.pressure3pm) - num(prev?.pressure3pm ?? null);
  out[base + stride * i++] = num(obs.humidity3pm) - num(prev?.humidity3pm ?? null);
  out[base + stride * i++] = num(obs.temp3pm) - num(prev?.temp3pm ?? null);
  out[base + stride * i++] = num(prev?.humidity3pm ?? null);
  out[base + stride * i++] = num(prev?.pressure3pm ?? null);
  out[base + stride * i++] = num(prev?.cloud3pm ?? null);
  out[base + stride * i++] = num(prev?.sunshine ?? null);
  out[base + stride * i++] = num(prev?.windGustSpeed ?? null);
  if (i !== FEATURE_NAMES.length) {
    throw new FeatureStateError(`computed ${i} features, the set names ${FEATURE_NAMES.length}`);
  }
}
