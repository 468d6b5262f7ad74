/**
 * The latest forecasts the predictor keeps in Redis. Reads only: a forecast from memory while Redis has not
 * said it changed (tracked-cache.ts), one MGET for the station list.
 */
import { FEATURE_SET_VERSION } from '../../lib/domain/features/index.ts';
import type { StationRegistry } from '../../lib/domain/stations.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';
import { STATE_KEYS, type LatestForecast } from '../../lib/domain/state-keys.ts';
import type { LocationsBody } from '../schemas.ts';
import type { TrackedCache } from './tracked-cache.ts';

export interface ForecastService {
  /** The stations served. */
  readonly stations: StationRegistry;
  /**
   * The station's LatestForecast as the JSON text the predictor stored, or null. Served as is: parsing
   * and re-serializing it would cost more than the Redis round trip for nothing.
   */
  latestJson(location: string): Promise<string | null>;
  /** A regression task's LatestValueForecast of the station, as the JSON text stored, or null. */
  latestValueJson(task: string, location: string): Promise<string | null>;
  /** The stored forecast with the decision taken at `threshold`. */
  atThreshold(json: string, threshold: number): LatestForecast;
  locations(): Promise<LocationsBody>;
}

/** Whether `location` is a station of the deployment (the weatherAUS ones and the live ones). */
export function isKnownStation(location: string, stations: StationRegistry): boolean {
  return stations.has(location);
}

/** Why there is no forecast for `location`, for the 404: not a station (and which one was meant), or none yet. */
export function noForecastReason(location: string, stations: StationRegistry): string {
  return stations.check(location)?.reason ?? `${location} is a station but has no forecast yet`;
}

/** A stored value's fields, without trusting more of it than that they are an object's. */
function fieldsOf(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function stringField(fields: Record<string, unknown> | null, field: string): string | null {
  const value = fields?.[field];
  return typeof value === 'string' ? value : null;
}

function numberField(fields: Record<string, unknown> | null, field: string): number | null {
  const value = fields?.[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * `/locations` lists exactly the stations `/predict` serves: every station of `registry`, and only those
 * (a name that is not a station, `sydney` included, has no forecast to serve).
 */
export function createForecastService(
  redis: RedisHandle,
  registry: StationRegistry,
  cache: Pick<TrackedCache, 'get'> = { get: (key) => redis.client.get(key) },
): ForecastService {
  const stations = registry.names;
  const latestKeys = stations.map((s) => redis.key(...STATE_KEYS.latest(s)));
  const stationKeys = stations.map((s) => redis.key(...STATE_KEYS.station(s)));
  return {
    stations: registry,
    latestJson: async (location) =>
      registry.has(location) ? cache.get(redis.key(...STATE_KEYS.latest(location))) : null,
    latestValueJson: async (task, location) =>
      registry.has(location) ? cache.get(redis.key(...STATE_KEYS.latestOf(task, location))) : null,
    atThreshold(json, threshold) {
      const forecast = JSON.parse(json) as LatestForecast;
      return { ...forecast, threshold, decision: forecast.probability >= threshold };
    },
    async locations() {
      const values = await redis.client.mget(...latestKeys, ...stationKeys);
      return {
        featureSetVersion: FEATURE_SET_VERSION,
        locations: stations.map((location, i) => {
          const latest = fieldsOf(values[i] ?? null);
          return {
            location,
            forecastDate: stringField(latest, 'date'),
            forecastFor: stringField(latest, 'forecastFor'),
            threshold: numberField(latest, 'threshold'),
            lastObservationDate: stringField(fieldsOf(values[stations.length + i] ?? null), 'lastDate'),
          };
        }),
      };
    },
  };
}
