/**
 * What we ask Open-Meteo for, and what each ask costs. Both endpoints take the same variables; the
 * archive (reanalysis, from 1940) by date range for backfill, the forecast API with `past_days` for the
 * last days, which the archive publishes only after a delay.
 */
import { addDays, daysBetween } from '../../lib/domain/time.ts';
import type { LiveStation } from './stations.ts';

/** Daily aggregates, over Open-Meteo's day (00:00 to 24:00 at the response's UTC offset). */
export const DAILY_VARIABLES = [
  'temperature_2m_max',
  'temperature_2m_min',
  'sunshine_duration',
  'wind_gusts_10m_max',
  'et0_fao_evapotranspiration',
] as const;

/**
 * Hourly values: the 9am/3pm columns, the gust direction at the hour of the day's strongest gust, and
 * `precipitation` (the preceding hour's sum) for the Bureau's 9am-to-9am rainfall day (mapping.ts).
 */
export const HOURLY_VARIABLES = [
  'temperature_2m',
  'relative_humidity_2m',
  'pressure_msl',
  'cloud_cover',
  'wind_speed_10m',
  'wind_direction_10m',
  'wind_gusts_10m',
  'precipitation',
] as const;

export type DailyVariable = (typeof DAILY_VARIABLES)[number];
export type HourlyVariable = (typeof HOURLY_VARIABLES)[number];

/** Unit strings Open-Meteo answers with for the units we request; any other unit is refused. */
export const EXPECTED_UNITS: Readonly<Record<DailyVariable | HourlyVariable, string>> = {
  temperature_2m_max: '°C',
  temperature_2m_min: '°C',
  sunshine_duration: 's',
  wind_gusts_10m_max: 'km/h',
  et0_fao_evapotranspiration: 'mm',
  temperature_2m: '°C',
  relative_humidity_2m: '%',
  pressure_msl: 'hPa',
  cloud_cover: '%',
  wind_speed_10m: 'km/h',
  wind_direction_10m: '°',
  wind_gusts_10m: 'km/h',
  precipitation: 'mm',
};

/** The forecast API serves at most this many past days. */
export const FORECAST_MAX_PAST_DAYS = 92;

export type FetchMode = 'archive' | 'forecast';

export type OpenMeteoRequest =
  | { mode: 'archive'; station: LiveStation; startDate: string; endDate: string }
  | { mode: 'forecast'; station: LiveStation; pastDays: number; forecastDays: number };

/** Days the response will hold (what the free tier weighs a call by). */
export function requestDays(request: OpenMeteoRequest): number {
  return request.mode === 'archive'
    ? daysBetween(request.startDate, request.endDate) + 1
    : request.pastDays + request.forecastDays;
}

/**
 * Weight of one call against the free tier's limits, as Open-Meteo's own docs page computes it: one
 * call per location for up to 10 variables and 14 days, growing linearly beyond either (a call of 13
 * variables over 31 days weighs 1.3 * 31/14 = 2.88).
 */
export function callWeight(variables: number, days: number, locations = 1): number {
  const variablesWeight = variables / 10;
  return Math.max(1, variablesWeight, (days / 14) * variablesWeight) * locations;
}

export function requestWeight(request: OpenMeteoRequest): number {
  return callWeight(DAILY_VARIABLES.length + HOURLY_VARIABLES.length, requestDays(request));
}

/**
 * The request URL. Units are spelled out although they are the defaults: the mapping converts from
 * exactly these, and checks the unit strings of the answer. `timezone` is the station's zone so the
 * daily aggregates cover its local days (see mapping.ts for what Open-Meteo does at daylight saving).
 */
export function buildRequestUrl(baseUrl: string, request: OpenMeteoRequest): URL {
  const url = new URL(baseUrl);
  const p = url.searchParams;
  p.set('latitude', String(request.station.latitude));
  p.set('longitude', String(request.station.longitude));
  if (request.mode === 'archive') {
    p.set('start_date', request.startDate);
    p.set('end_date', request.endDate);
  } else {
    p.set('past_days', String(request.pastDays));
    p.set('forecast_days', String(request.forecastDays));
  }
  p.set('daily', DAILY_VARIABLES.join(','));
  p.set('hourly', HOURLY_VARIABLES.join(','));
  p.set('timezone', request.station.timezone);
  p.set('temperature_unit', 'celsius');
  p.set('wind_speed_unit', 'kmh');
  p.set('precipitation_unit', 'mm');
  p.set('timeformat', 'iso8601');
  return url;
}

export interface DateChunk {
  from: string;
  to: string;
}

/** `from..to` (inclusive) cut into consecutive chunks of at most `chunkDays` days. */
export function chunkDateRange(from: string, to: string, chunkDays: number): DateChunk[] {
  if (!Number.isInteger(chunkDays) || chunkDays < 1) throw new RangeError(`chunkDays must be >= 1`);
  const chunks: DateChunk[] = [];
  for (let start = from; daysBetween(start, to) >= 0; start = addDays(start, chunkDays)) {
    const end = addDays(start, chunkDays - 1);
    chunks.push({ from: start, to: daysBetween(end, to) >= 0 ? end : to });
  }
  return chunks;
}
