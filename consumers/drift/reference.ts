/**
 * What the drift stage watches for a model, decided when the model is trained (the trainer calls
 * `driftReferenceFor` on the winner), and the weather facts the generic reference engine (lib/ml/reference)
 * does not know: a row's group is its station, its season its calendar month, its chunk its event-time
 * week (Monday to Sunday), and a derived feature belongs to the sensor fields it is computed from.
 *
 * Watched per station: the raw measurement fields (a sensor is per station and per field: it drifts, sticks
 * or stops per field), each ranked by the importance of every feature computed from it. Watched pooled:
 * the model's features themselves (raw and derived), ranked by their own importance. Only fields and
 * features with at least `minShare` of the model's permutation importance are watched: a shift in
 * something the champion does not use changes nothing it predicts. Calendar encodings and the station
 * code are never watched: a week is always a sliver of the year, and the station mix is the per-station
 * statistics' business.
 */
import type { Dataset } from '../../lib/ml/model.ts';
import {
  buildDriftReference,
  type ColumnSpec,
  type DriftReference,
  type ReferenceOptions,
} from '../../lib/ml/reference.ts';
import { RAW_FEATURES, STATIONS } from '../../lib/domain/features/feature-set.ts';
import { dayNumber, month } from '../../lib/domain/time.ts';

/** The raw fields each derived feature is computed from (its importance is shared among them). */
export const FEATURE_SOURCES: Readonly<Record<string, readonly string[]>> = {
  tempRange: ['maxTemp', 'minTemp'],
  humidityChange9to3: ['humidity3pm', 'humidity9am'],
  pressureChange9to3: ['pressure3pm', 'pressure9am'],
  tempChange9to3: ['temp3pm', 'temp9am'],
  rainToday: ['rainfall'],
  rainSum1d: ['rainfall'],
  rainSum3d: ['rainfall'],
  rainSum7d: ['rainfall'],
  rainDays1d: ['rainfall'],
  rainDays3d: ['rainfall'],
  rainDays7d: ['rainfall'],
  daysSinceRain: ['rainfall'],
  pressure3pmChange24h: ['pressure3pm'],
  humidity3pmChange24h: ['humidity3pm'],
  temp3pmChange24h: ['temp3pm'],
  prevHumidity3pm: ['humidity3pm'],
  prevPressure3pm: ['pressure3pm'],
  prevCloud3pm: ['cloud3pm'],
  prevSunshine: ['sunshine'],
  prevWindGustSpeed: ['windGustSpeed'],
};

/**
 * The instruments of a station, by the raw fields they give: a fault of the instrument (a thermometer
 * reading 3 °C high, a barometer 8 hPa off) moves every reading of it, so the readings are judged together
 * as well as one by one, and an instrument is watched whole when the model relies on any of its readings.
 */
export const INSTRUMENTS: Readonly<Record<string, readonly string[]>> = {
  temperature: ['minTemp', 'maxTemp', 'temp9am', 'temp3pm'],
  pressure: ['pressure9am', 'pressure3pm'],
  humidity: ['humidity9am', 'humidity3pm'],
  wind: ['windGustSpeed', 'windSpeed9am', 'windSpeed3pm'],
  cloud: ['cloud9am', 'cloud3pm'],
};

/**
 * The two reports of a station's day: a 9 am or a 3 pm report that was not sent leaves all its readings
 * missing at once, which is one finding (the report stopped), not one per reading. Tried before the
 * instruments.
 */
export const REPORTS: Readonly<Record<string, readonly string[]>> = {
  report9am: ['humidity9am', 'pressure9am', 'temp9am', 'windSpeed9am', 'cloud9am'],
  report3pm: ['humidity3pm', 'pressure3pm', 'temp3pm', 'windSpeed3pm', 'cloud3pm'],
};

/** Never watched: calendar encodings (a week is a sliver of the year by construction) and the station code. */
export const UNWATCHED_FEATURES: ReadonlySet<string> = new Set([
  'month',
  'monthSin',
  'monthCos',
  'dayOfYearSin',
  'dayOfYearCos',
  'locationCode',
]);

/** Importance share below which a field or feature is not watched (0.5 % of the model's reliance). */
export const DEFAULT_MIN_SHARE = 0.005;

/** Event-time week number: consecutive integers, week n starting on Monday (day 4 of 1970 was a Monday). */
export function weekNumber(date: string): number {
  return Math.floor((dayNumber(date) + 3) / 7);
}

/** Shares of the positive importances (negative ones are permutation noise: the model does not use them). */
export function importanceShares(importance: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < importance.length; i++) total += Math.max(0, importance[i]!);
  const out = new Float64Array(importance.length);
  if (total > 0) for (let i = 0; i < out.length; i++) out[i] = Math.max(0, importance[i]!) / total;
  return out;
}

/**
 * The columns to watch for a model with these feature names and importance shares, ranked: raw fields by
 * the importance of everything computed from them (per station), other features by their own (pooled).
 */
export function watchedColumns(
  featureNames: readonly string[],
  shares: ArrayLike<number>,
  minShare = DEFAULT_MIN_SHARE,
): ColumnSpec[] {
  const own = new Map(featureNames.map((n, i) => [n, shares[i]!]));
  const fieldShare = new Map<string, number>();
  const raw = new Set<string>(RAW_FEATURES);
  for (const name of featureNames) {
    if (raw.has(name)) fieldShare.set(name, (fieldShare.get(name) ?? 0) + own.get(name)!);
    const sources = FEATURE_SOURCES[name];
    if (sources === undefined) continue;
    for (const s of sources) {
      if (raw.has(s) && own.has(s)) {
        fieldShare.set(s, (fieldShare.get(s) ?? 0) + own.get(name)! / sources.length);
      }
    }
  }
  // A reading is watched per station when its instrument, all readings together, matters to the model.
  const instrumentShare = new Map<string, number>();
  for (const fields of Object.values(INSTRUMENTS)) {
    const total = fields.reduce((sum, f) => sum + (fieldShare.get(f) ?? 0), 0);
    for (const f of fields) instrumentShare.set(f, total);
  }
  const specs: Omit<ColumnSpec, 'rank'>[] = [];
  for (const name of featureNames) {
    if (UNWATCHED_FEATURES.has(name)) continue;
    const alone = raw.has(name) && (fieldShare.get(name) ?? 0) >= minShare;
    const perGroup = alone || (raw.has(name) && (instrumentShare.get(name) ?? 0) >= minShare);
    const pooled = own.get(name)! >= minShare;
    if (!perGroup && !pooled) continue;
    specs.push({
      name,
      importance: perGroup ? fieldShare.get(name)! : own.get(name)!,
      perGroup,
      pooled,
      ...(perGroup && !alone ? { memberOnly: true } : {}),
    });
  }
  specs.sort((a, b) => b.importance - a.importance || (a.name < b.name ? -1 : 1));
  return specs.map((s, i) => ({ ...s, rank: i + 1 }));
}

interface DriftReferenceSourceBase {
  /** Training rows as the pipeline serves them (raw, before clipping), with their dates and stations. */
  train: { data: Dataset; dates: readonly string[]; locations: readonly string[] };
  /** Permutation importance of each feature (lib/ml/reference's permutationImportance), in feature order. */
  importance: ArrayLike<number>;
  minShare?: number;
  options?: ReferenceOptions;
}

/** A classifier (rain): its probabilities on the training rows and on its validation window. */
export interface ClassifierReferenceSource extends DriftReferenceSourceBase {
  trainingProbabilities: ArrayLike<number>;
  validation: { probabilities: ArrayLike<number>; labels: ArrayLike<number>; dates?: readonly string[] };
  threshold: number;
  regression?: undefined;
}

/** A regression model (max_temp): its forecasts and the targets on its validation window. */
export interface RegressionReferenceSource extends DriftReferenceSourceBase {
  regression: { predictions: ArrayLike<number>; targets: ArrayLike<number>; dates?: readonly string[] };
}

export type DriftReferenceSource = ClassifierReferenceSource | RegressionReferenceSource;

/** The drift reference of a trained model: what the drift stage compares every live week with. */
export function driftReferenceFor(source: DriftReferenceSource): DriftReference {
  const { data, dates, locations } = source.train;
  const n = data.nRows;
  const stationIndex = new Map(STATIONS.map((s, i) => [s, i]));
  const groups = new Int32Array(n);
  const seasons = new Int8Array(n);
  const chunks = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    groups[r] = stationIndex.get(locations[r]!) ?? -1;
    seasons[r] = month(dates[r]!) - 1;
    chunks[r] = weekNumber(dates[r]!);
  }
  const shares = importanceShares(source.importance);
  const chunksOf = (d: readonly string[] | undefined) => (d ? Int32Array.from(d, weekNumber) : undefined);
  // The feature side is the same for every task: the columns a model relies on, per station and pooled.
  const outputs =
    source.regression !== undefined
      ? {
          regression: {
            predictions: source.regression.predictions,
            targets: source.regression.targets,
            chunks: chunksOf(source.regression.dates),
          },
        }
      : {
          trainingProbabilities: source.trainingProbabilities,
          validation: {
            probabilities: source.validation.probabilities,
            labels: source.validation.labels,
            chunks: chunksOf(source.validation.dates),
          },
          threshold: source.threshold,
        };
  return buildDriftReference({
    ...outputs,
    data,
    groups,
    groupNames: STATIONS,
    seasons,
    chunks,
    columns: watchedColumns(data.featureNames, shares, source.minShare),
    combined: Object.entries(INSTRUMENTS).map(([name, columns]) => ({ name, columns })),
    missingGroups: [...Object.entries(REPORTS), ...Object.entries(INSTRUMENTS)].map(([name, columns]) => ({
      name,
      columns,
    })),
    importance: shares,
    options: source.options,
  });
}
