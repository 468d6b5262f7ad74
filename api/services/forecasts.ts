/**
 * The latest forecasts the predictor keeps in Redis. Reads only: one GET per forecast served, one MGET for
 * the station list.
 */
import { FEATURE_SET_VERSION, STATIONS, locationCode } from '../../lib/domain/features/index.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';
import { STATE_KEYS, type LatestForecast } from '../../lib/domain/state-keys.ts';
import type { LocationsBody } from '../schemas.ts';

export interface ForecastService {
  /**
   * The station's LatestForecast as the JSON text the predictor stored, or null. Served as is: parsing
   * and re-serializing it would cost more than the Redis round trip for nothing.
   */
  latestJson(location: string): Promise<string | null>;
  /** The stored forecast with the decision taken at `threshold`. */
  atThreshold(json: string, threshold: number): LatestForecast;
  locations(): Promise<LocationsBody>;
}

/** Whether the feature set has a code for the station (an unknown one can still get forecasts). */
export function isKnownStation(location: string): boolean {
  return !Number.isNaN(locationCode(location));
}

/** Why there is no forecast for `location`, for the 404. */
export function noForecastReason(location: string): string {
  return isKnownStation(location)
    ? `${location} is a station of feature set ${FEATURE_SET_VERSION} but has no forecast yet`
    : `${location} is not a station of feature set ${FEATURE_SET_VERSION} and has no forecast`;
}

/** The dates a stored value carries, without trusting more of it than that. */
function dateField(text: string | null, field: 'date' | 'forecastFor' | 'lastDate'): string | null {
  if (text === null) return null;
  try {
    const value = (JSON.parse(text) as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

export function createForecastService(
  redis: RedisHandle,
  stations: readonly string[] = STATIONS,
): ForecastService {
  const latestKeys = stations.map((s) => redis.key(...STATE_KEYS.latest(s)));
  const stationKeys = stations.map((s) => redis.key(...STATE_KEYS.station(s)));
  return {
    latestJson: (location) => redis.client.get(redis.key(...STATE_KEYS.latest(location))),
    atThreshold(json, threshold) {
      const forecast = JSON.parse(json) as LatestForecast;
      return { ...forecast, threshold, decision: forecast.probability >= threshold };
    },
    async locations() {
      const values = await redis.client.mget(...latestKeys, ...stationKeys);
      return {
        featureSetVersion: FEATURE_SET_VERSION,
        locations: stations.map((location, i) => {
          const latest = values[i] ?? null;
          return {
            location,
            forecastDate: dateField(latest, 'date'),
            forecastFor: dateField(latest, 'forecastFor'),
            lastObservationDate: dateField(values[stations.length + i] ?? null, 'lastDate'),
          };
        }),
      };
    },
  };
}
