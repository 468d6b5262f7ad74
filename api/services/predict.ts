/**
 * On-demand prediction: an observation in, the forecast for the next day out, computed exactly as the
 * stream computes it: the station's history from Redis (read only: the API never writes stream state),
 * `featuresStep` from lib/features, and the predictor's own `prepareChampion` / `predictStep` with the
 * champion of the moment.
 */
import { ChampionError, preparedChampionOf, type ChampionSource } from '../../lib/models/champion.ts';
import type { Observation } from '../../lib/domain/events.ts';
import { type StationState } from '../../lib/domain/features/index.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { addDays, dayNumber } from '../../lib/domain/time.ts';
import type { StationRegistry } from '../../lib/domain/stations.ts';
import {
  checkObservation,
  firstIssue,
  observationRules,
  type EventTimeRules,
} from '../../lib/domain/weather/validation.ts';
import { PredictError, predictStep } from '../../consumers/predictor/step.ts';
import { ApiError } from '../errors.ts';
import type { ObservationBody } from '../observation-body.ts';
import type { PredictionResult, ValuePredictionResult } from '../schemas.ts';
import { TASKS, type TaskName } from '../../lib/models/tasks.ts';
import { featuresStep } from '../../consumers/features/step.ts';
import { parseStationState } from '../../lib/domain/features/station-window.ts';
import type { TrackedCache } from './tracked-cache.ts';

/** How many days before D the features look at (the widest rain window). */
const LOOKBACK_DAYS = 7;

export function observationOf(body: ObservationBody): Observation {
  return {
    location: body.location,
    date: body.date,
    minTemp: body.minTemp ?? null,
    maxTemp: body.maxTemp ?? null,
    rainfall: body.rainfall ?? null,
    evaporation: body.evaporation ?? null,
    sunshine: body.sunshine ?? null,
    windGustDir: body.windGustDir ?? null,
    windGustSpeed: body.windGustSpeed ?? null,
    windDir9am: body.windDir9am ?? null,
    windDir3pm: body.windDir3pm ?? null,
    windSpeed9am: body.windSpeed9am ?? null,
    windSpeed3pm: body.windSpeed3pm ?? null,
    humidity9am: body.humidity9am ?? null,
    humidity3pm: body.humidity3pm ?? null,
    pressure9am: body.pressure9am ?? null,
    pressure3pm: body.pressure3pm ?? null,
    cloud9am: body.cloud9am ?? null,
    cloud3pm: body.cloud3pm ?? null,
    temp9am: body.temp9am ?? null,
    temp3pm: body.temp3pm ?? null,
    rainToday: body.rainToday ?? null,
    source: body.source ?? 'api',
  };
}

/**
 * The station history as it stood before `date`. When the stream has already processed `date` (or a later
 * day), the API answers "what would the forecast from this observation be", using only days strictly
 * before it, rather than refusing: the stream's own state is not touched either way.
 *
 * Days-since-rain needs care: the state keeps only the last rain date, not earlier ones. If that rain falls
 * on or after `date` and no kept day before `date` saw rain, the last rain before `date` lies outside what
 * is kept and is unknown; the history then starts at its first kept day so the step says NaN (unknown)
 * instead of "dry for at least a month". Returns null when nothing before `date` is known.
 */
export function historyBefore(state: StationState | null, date: string): StationState | null {
  if (state === null || state.lastDate < date) return state;
  if (state.firstDate >= date) return null;
  const days = state.days.filter((d) => d.date < date);
  let lastRainDate: string | null = null;
  for (const d of days) if (d.rain === true) lastRainDate = d.date;
  let firstDate = state.firstDate;
  if (lastRainDate === null && state.lastRainDate !== null) {
    if (state.lastRainDate < date) lastRainDate = state.lastRainDate;
    else if (days.length > 0) firstDate = days[0]!.date;
    else return null;
  }
  const lastDate =
    days.length > 0
      ? days[days.length - 1]!.date
      : lastRainDate !== null && lastRainDate > firstDate
        ? lastRainDate
        : firstDate;
  return { v: 1, location: state.location, lastDate, firstDate, lastRainDate, days };
}

/** Observed days among D-7 .. D-1 in `history`: what the lags and windows of D could read. */
export function historyDaysBefore(history: StationState | null, date: string): number {
  if (history === null) return 0;
  const d = dayNumber(date);
  let n = 0;
  for (const day of history.days) {
    const k = d - dayNumber(day.date);
    if (k >= 1 && k <= LOOKBACK_DAYS) n++;
  }
  return n;
}

export interface PredictServiceDeps {
  redis: RedisHandle;
  /** Rain's champion source. */
  champions: ChampionSource;
  /** The champion source of each other task this API predicts (POST /predict?task=). */
  taskChampions?: ReadonlyMap<string, ChampionSource>;
  decisionThreshold: number;
  clock: () => number;
  /** The domain validation's rules: what the stream accepts, the API accepts. */
  eventTime: EventTimeRules;
  stations: StationRegistry;
  /** Station windows from memory while Redis has not said they changed; default: a Redis GET each time. */
  cache?: Pick<TrackedCache, 'getParsed'>;
}

/**
 * The observation of a body, or a 400 naming the field and the reason: the domain validation the CSV edge
 * and every stage apply (station, date range and horizon, readings, cross-field rules), after the route's
 * schema has checked the types. Every other field at fault is named in the reason.
 */
export function validatedObservation(
  body: ObservationBody,
  rules: { eventTime: EventTimeRules; stations: StationRegistry; now: number },
): Observation {
  const observation = observationOf(body);
  const issues = checkObservation(observation, observationRules(rules));
  if (issues.length > 0) {
    const { field, reason } = firstIssue(issues);
    throw new ApiError(400, 'VALIDATION', reason, { field });
  }
  return observation;
}

export interface PredictService {
  /**
   * The task's (default rain's) forecast from its champion of the moment. `threshold` (rain only)
   * overrides the configured decision threshold for this answer.
   */
  predict(
    body: ObservationBody,
    threshold?: number,
    task?: TaskName,
  ): Promise<PredictionResult | ValuePredictionResult>;
}

export function createPredictService(deps: PredictServiceDeps): PredictService {
  const { redis, champions, decisionThreshold, clock, eventTime, stations } = deps;
  const currentChampion = new Map([['rain', preparedChampionOf(champions)]]);
  for (const [task, source] of deps.taskChampions ?? [])
    currentChampion.set(task, preparedChampionOf(source));
  const cache = deps.cache ?? {
    getParsed: async <T>(key: string, parse: (text: string | null) => T) =>
      parse(await redis.client.get(key)),
  };
  // One parser per station, so a cached window is parsed once per value, not once per request (the
  // parsed window is shared: historyBefore and featuresStep never mutate a state, they build new ones).
  const parsers = new Map<string, (text: string | null) => StationState | null>();
  const parserOf = (location: string) => {
    let parse = parsers.get(location);
    if (!parse) parsers.set(location, (parse = (text) => parseStationState(text, location)));
    return parse;
  };

  return {
    async predict(body, threshold, taskName = 'rain') {
      const task = TASKS[taskName];
      if (task.type !== 'classification' && threshold !== undefined) {
        throw new ApiError(400, 'VALIDATION', `applies to task rain only, not ${task.name}`, {
          field: 'threshold',
        });
      }
      const champion = currentChampion.get(task.name);
      if (champion === undefined) {
        throw new ApiError(400, 'VALIDATION', `${task.name} is not predicted by this deployment (TASKS)`, {
          field: 'task',
        });
      }
      const observation = validatedObservation(body, { eventTime, stations, now: clock() });
      const state = await cache.getParsed(
        redis.key(...STATE_KEYS.station(observation.location)),
        parserOf(observation.location),
      );
      const history = historyBefore(state, observation.date);
      const now = clock();
      const step = featuresStep(history, observation, now);
      if (step.output === null) {
        throw new ApiError(
          500,
          'FEATURES',
          `features step said ${step.outcome} on a history before the date`,
        );
      }
      let prediction;
      try {
        prediction = predictStep(step.output, champion(), threshold ?? decisionThreshold, now);
      } catch (error) {
        // A champion this code cannot feed is an outage of the prediction service, not a bad request.
        if (error instanceof PredictError || error instanceof ChampionError)
          throw new ApiError(503, error.code, error.message, { cause: error });
        throw error;
      }
      const historyDays = historyDaysBefore(history, observation.date);
      if (prediction.value !== null) {
        return {
          task: task.name,
          location: prediction.location,
          date: prediction.date,
          forecastFor: addDays(prediction.date, 1),
          value: prediction.value,
          unit: task.target.unit,
          modelVersion: prediction.modelVersion,
          featureSetVersion: prediction.featureSetVersion,
          historyDays,
        };
      }
      return {
        task: 'rain',
        location: prediction.location,
        date: prediction.date,
        forecastFor: addDays(prediction.date, 1),
        probability: prediction.probability,
        decision: prediction.decision,
        threshold: prediction.threshold,
        modelVersion: prediction.modelVersion,
        featureSetVersion: prediction.featureSetVersion,
        historyDays,
      };
    },
  };
}
