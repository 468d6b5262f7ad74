/**
 * The feature set: names, order and version. Training, the streaming features stage and the API all
 * compute features with `featuresStep` (step.ts) against this list, so a model trained on `fs1` sees the
 * same columns in production. Any change to the list or to how a value is computed needs a new version:
 * predictors refuse feature vectors of another version than their champion's.
 */
import { NUMERIC_FIELDS, type NumericField } from '../weather/observation.ts';
import { TypedError, type TypedErrorOptions } from '../../platform/errors.ts';

export const FEATURE_SET_VERSION = 'fs1';

/** Raw measurements of day D, in Observation field order. */
export const RAW_FEATURES = Object.keys(NUMERIC_FIELDS) as readonly NumericField[];

/** Rolling windows over the k calendar days before D (D-k .. D-1). */
export const RAIN_WINDOWS = [1, 3, 7] as const;

/** Days since rain is capped: beyond a month of dry weather the exact count says little more. */
export const DAYS_SINCE_RAIN_CAP = 30;

/** Angles, flags, calendar and station codes: encodings, never clipped. */
const ENCODED_FEATURES = [
  'windGustDirSin',
  'windGustDirCos',
  'windDir9amSin',
  'windDir9amCos',
  'windDir3pmSin',
  'windDir3pmCos',
  'rainToday',
  'month',
  'monthSin',
  'monthCos',
  'dayOfYearSin',
  'dayOfYearCos',
  'locationCode',
] as const;

export const FEATURE_NAMES: readonly string[] = Object.freeze([
  ...RAW_FEATURES,
  ...ENCODED_FEATURES,
  'tempRange',
  'humidityChange9to3',
  'pressureChange9to3',
  'tempChange9to3',
  ...RAIN_WINDOWS.map((k) => `rainSum${k}d`),
  ...RAIN_WINDOWS.map((k) => `rainDays${k}d`),
  'daysSinceRain',
  'pressure3pmChange24h',
  'humidity3pmChange24h',
  'temp3pmChange24h',
  'prevHumidity3pm',
  'prevPressure3pm',
  'prevCloud3pm',
  'prevSunshine',
  'prevWindGustSpeed',
]);

/**
 * Features that are codes, flags, counts or points on a circle: clipping them to training quantiles would
 * change their meaning (a rare station code or a calm compass point is not an outlier).
 */
export const UNCLIPPED_FEATURES: ReadonlySet<string> = new Set([
  ...ENCODED_FEATURES,
  ...RAIN_WINDOWS.map((k) => `rainDays${k}d`),
  'daysSinceRain',
]);

/** Feature names of a version this code can compute or read, or undefined for an unknown version. */
export function featureNamesFor(featureSetVersion: string): readonly string[] | undefined {
  return featureSetVersion === FEATURE_SET_VERSION ? FEATURE_NAMES : undefined;
}

/**
 * The 49 weatherAUS stations, sorted: `locationCode` is the index in this list, fixed for `fs1` so the code
 * of a station never depends on which stations a training slice happened to contain. A station outside the
 * list gets NaN (missing), not a hashed code: a hash would collide with a known station's code and borrow
 * its climate; as missing, tree models route it by their learned missing direction and the climatology
 * baseline falls back to the pooled monthly rate. Adding a station means a new feature-set version.
 */
export const STATIONS: readonly string[] = Object.freeze([
  'Adelaide',
  'Albany',
  'Albury',
  'AliceSprings',
  'BadgerysCreek',
  'Ballarat',
  'Bendigo',
  'Brisbane',
  'Cairns',
  'Canberra',
  'Cobar',
  'CoffsHarbour',
  'Dartmoor',
  'Darwin',
  'GoldCoast',
  'Hobart',
  'Katherine',
  'Launceston',
  'Melbourne',
  'MelbourneAirport',
  'Mildura',
  'Moree',
  'MountGambier',
  'MountGinini',
  'Newcastle',
  'Nhil',
  'NorahHead',
  'NorfolkIsland',
  'Nuriootpa',
  'PearceRAAF',
  'Penrith',
  'Perth',
  'PerthAirport',
  'Portland',
  'Richmond',
  'Sale',
  'SalmonGums',
  'Sydney',
  'SydneyAirport',
  'Townsville',
  'Tuggeranong',
  'Uluru',
  'WaggaWagga',
  'Walpole',
  'Watsonia',
  'Williamtown',
  'Witchcliffe',
  'Wollongong',
  'Woomera',
]);

const STATION_CODES = new Map(STATIONS.map((name, i) => [name, i]));

/** The station's fixed code, or NaN for a station outside the list. */
export function locationCode(location: string): number {
  return STATION_CODES.get(location) ?? NaN;
}

/** Index of each name in `names`; throws when one is absent. */
export function indexOfFeatures(names: readonly string[], wanted: readonly string[]): Int32Array {
  const at = new Map(names.map((n, i) => [n, i]));
  const out = new Int32Array(wanted.length);
  for (let i = 0; i < wanted.length; i++) {
    const j = at.get(wanted[i]!);
    if (j === undefined) throw new FeatureSetError(`feature ${JSON.stringify(wanted[i])} is not in the set`);
    out[i] = j;
  }
  return out;
}

export class FeatureSetError extends TypedError<'FEATURE_SET'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('FEATURE_SET', message, options);
  }
}
