/**
 * A small synthetic network for the drift tests: six stations whose pressure and humidity share a weekly
 * weather signal (as neighbouring stations do), each with its own level and daily noise, a model
 * version with a reference built from three years of it, and generators of live predictions and labeled
 * examples with faults on demand.
 */
import type { LabeledExample, Prediction } from '../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import { addDays, month } from '../../lib/domain/time.ts';
import { buildDriftReference, type DriftReference } from '../../lib/ml/reference.ts';
import { weekNumber } from '../../consumers/drift/reference.ts';

export const STATIONS6 = ['Albury', 'Bendigo', 'Canberra', 'Dartmoor', 'Hobart', 'Moree'] as const;
export const MODEL = 'gbdt-test';
export const WATCHED = ['humidity3pm', 'pressure3pm', 'pressure9am', 'windGustSpeed'] as const;
const PRESSURE = FEATURE_NAMES.indexOf('pressure3pm');
const PRESSURE9 = FEATURE_NAMES.indexOf('pressure9am');
const HUMIDITY = FEATURE_NAMES.indexOf('humidity3pm');
const GUST = FEATURE_NAMES.indexOf('windGustSpeed');

/** Deterministic uniform deviates in (0, 1) (xorshift32). */
export function uniforms(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
}

/** Deterministic normal deviates (Box-Muller). */
export function normals(seed: number): () => number {
  const uniform = uniforms(seed);
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export interface DayValues {
  /** At 3 pm; the 9 am reading is this plus `morning` (the same barometer). */
  pressure: number;
  morning: number;
  humidity: number;
  gust: number;
}

export interface DayFault {
  station: string;
  from: string;
  /** Changes the day's values of the station, or returns null for no record. */
  apply(values: DayValues, date: string): DayValues | null;
}

/** One day of every station: shared weather of the week plus station level and daily noise. */
function day(date: string, random: () => number, weekSignal: Map<number, number>, gustRandom: () => number) {
  const week = weekNumber(date);
  let signal = weekSignal.get(week);
  if (signal === undefined) weekSignal.set(week, (signal = 4 * random()));
  return STATIONS6.map((station, i) => ({
    station,
    pressure: 1010 + i + signal! + 1.5 * random(),
    humidity: 50 + 3 * i - 2 * signal! + 6 * random(),
    gust: 40 + 2 * i + signal! + 6 * gustRandom(),
    morning: 1 + 0.8 * gustRandom(),
  }));
}

function valuesOf(v: DayValues): number[] {
  const values = new Array<number>(FEATURE_NAMES.length).fill(NaN);
  values[PRESSURE] = v.pressure;
  values[PRESSURE9] = v.pressure + v.morning;
  values[HUMIDITY] = v.humidity;
  values[GUST] = v.gust;
  return values;
}

/** Probability of rain from humidity, and the label drawn from it (so the model is calibrated). */
function probabilityOf(humidity: number): number {
  return Math.min(0.95, Math.max(0.05, (humidity - 20) / 80));
}

let cached: DriftReference | null = null;

/** The reference of MODEL: three years (2010-2012) of the synthetic network. */
export function syntheticReference(): DriftReference {
  if (cached) return cached;
  const random = normals(7);
  const signal = new Map<number, number>();
  const dates: string[] = [];
  const stations: number[] = [];
  const pressure: number[] = [];
  const humidity: number[] = [];
  const gust: number[] = [];
  const morning: number[] = [];
  const probabilities: number[] = [];
  const gustRandom = normals(17);
  for (let d = '2010-01-04'; d < '2013-01-07'; d = addDays(d, 1)) {
    for (const [i, row] of day(d, random, signal, gustRandom).entries()) {
      dates.push(d);
      stations.push(i);
      pressure.push(row.pressure);
      humidity.push(row.humidity);
      gust.push(row.gust);
      morning.push(row.morning);
      probabilities.push(probabilityOf(row.humidity));
    }
  }
  const n = dates.length;
  const data = new Float64Array(FEATURE_NAMES.length * n).fill(NaN);
  for (let r = 0; r < n; r++) {
    data[PRESSURE * n + r] = pressure[r]!;
    data[HUMIDITY * n + r] = humidity[r]!;
    data[GUST * n + r] = gust[r]!;
    data[PRESSURE9 * n + r] = pressure[r]! + morning[r]!;
  }
  const importance = FEATURE_NAMES.map((name) =>
    name === 'humidity3pm' ? 0.7 : name === 'pressure3pm' ? 0.3 : 0,
  );
  const labelRandom = uniforms(11);
  const validation = probabilities.slice(-600);
  cached = buildDriftReference({
    data: { featureNames: FEATURE_NAMES, nRows: n, data },
    groups: Int32Array.from(stations),
    groupNames: STATIONS6,
    seasons: Int8Array.from(dates, (d) => month(d) - 1),
    chunks: Int32Array.from(dates, weekNumber),
    columns: [
      { name: 'humidity3pm', importance: 0.6, rank: 1, perGroup: true, pooled: true },
      { name: 'pressure3pm', importance: 0.2, rank: 2, perGroup: true, pooled: true },
      { name: 'pressure9am', importance: 0.1, rank: 3, perGroup: true, pooled: false },
      { name: 'windGustSpeed', importance: 0.1, rank: 4, perGroup: true, pooled: false },
    ],
    combined: [{ name: 'pressure', columns: ['pressure9am', 'pressure3pm'] }],
    missingGroups: [{ name: 'pressure', columns: ['pressure9am', 'pressure3pm'] }],
    importance,
    trainingProbabilities: probabilities,
    validation: {
      probabilities: validation,
      labels: validation.map((p) => (labelRandom() < p ? 1 : 0)),
      chunks: Int32Array.from(dates.slice(-600), weekNumber),
    },
    threshold: 0.5,
    options: { minOverlap: 20, neighbours: 3, minPooledRows: 20, minPooledMissing: 0.5, pooledK: 5 },
  });
  return cached;
}

/** A max_temp model of the same network: the same watched columns, its validation errors of sd 2 °C. */
export const REGRESSION_MODEL = 'gbdt-max-temp-test';

let cachedRegression: DriftReference | null = null;

/** The reference of REGRESSION_MODEL: the feature side of MODEL's years, errors instead of probabilities. */
export function syntheticRegressionReference(): DriftReference {
  if (cachedRegression) return cachedRegression;
  const classifier = syntheticReference();
  const errors = normals(23);
  const n = 600;
  const targets = Array.from({ length: n }, (_, i) => 20 + (i % 10));
  const dates = Array.from({ length: n }, (_, i) => addDays('2012-10-01', Math.floor(i / 6)));
  // Built from the same rows as the classifier's: only the outputs differ.
  const random = normals(7);
  const signal = new Map<number, number>();
  const gustRandom = normals(17);
  const rows: { date: string; station: number; v: DayValues }[] = [];
  for (let d = '2010-01-04'; d < '2013-01-07'; d = addDays(d, 1)) {
    for (const [i, row] of day(d, random, signal, gustRandom).entries())
      rows.push({ date: d, station: i, v: row });
  }
  const data = new Float64Array(FEATURE_NAMES.length * rows.length).fill(NaN);
  rows.forEach((r, k) => {
    const values = valuesOf(r.v);
    for (const c of [PRESSURE, PRESSURE9, HUMIDITY, GUST]) data[c * rows.length + k] = values[c]!;
  });
  cachedRegression = buildDriftReference({
    data: { featureNames: FEATURE_NAMES, nRows: rows.length, data },
    groups: Int32Array.from(rows, (r) => r.station),
    groupNames: STATIONS6,
    seasons: Int8Array.from(rows, (r) => month(r.date) - 1),
    chunks: Int32Array.from(rows, (r) => weekNumber(r.date)),
    columns: classifier.columns.map(({ name, importance, rank, perGroup, pooled }) => ({
      name,
      importance,
      rank,
      perGroup,
      pooled,
    })),
    combined: [{ name: 'pressure', columns: ['pressure9am', 'pressure3pm'] }],
    missingGroups: [{ name: 'pressure', columns: ['pressure9am', 'pressure3pm'] }],
    importance: classifier.importance,
    regression: {
      predictions: targets.map((t) => t + 2 * errors()),
      targets,
      chunks: Int32Array.from(dates, weekNumber),
    },
    options: classifier.options,
  });
  return cachedRegression;
}

export const referenceOf = (version: string) =>
  version === MODEL
    ? syntheticReference()
    : version === REGRESSION_MODEL
      ? syntheticRegressionReference()
      : undefined;

export interface LiveOptions {
  from: string;
  /** Days, from `from`. */
  days: number;
  faults?: readonly DayFault[];
  seed?: number;
  modelVersion?: string;
  /**
   * 'max_temp': the stream of a regression task (forecast `value`, label `target`), of REGRESSION_MODEL
   * unless `modelVersion` says otherwise; its forecasts err by `errorSd(date)` °C (sd; default 2).
   */
  task?: 'rain' | 'max_temp';
  errorSd?: (date: string) => number;
}

/** The next day's maximum temperature of a station in the synthetic network (what max_temp forecasts). */
function maxTempOf(v: DayValues): number {
  return 40 - 0.3 * v.humidity;
}

/** Live predictions and labeled examples of the network, in date order, faults applied. */
export function liveStream(o: LiveOptions): { predictions: Prediction[]; labeled: LabeledExample[] } {
  const random = normals(o.seed ?? 3);
  const labelRandom = uniforms((o.seed ?? 3) + 1);
  const signal = new Map<number, number>();
  const gustRandom = normals((o.seed ?? 3) + 2);
  const errorRandom = normals((o.seed ?? 3) + 5);
  const regression = o.task === 'max_temp';
  const predictions: Prediction[] = [];
  const labeled: LabeledExample[] = [];
  for (let k = 0; k < o.days; k++) {
    const date = addDays(o.from, k);
    for (const row of day(date, random, signal, gustRandom)) {
      let values: DayValues | null = {
        pressure: row.pressure,
        morning: row.morning,
        humidity: row.humidity,
        gust: row.gust,
      };
      for (const f of o.faults ?? []) {
        if (values !== null && f.station === row.station && date >= f.from) values = f.apply(values, date);
      }
      if (values === null) continue;
      const probability = probabilityOf(Number.isNaN(values.humidity) ? row.humidity : values.humidity);
      const target = maxTempOf(row);
      const forecast = target + (o.errorSd?.(date) ?? 2) * errorRandom();
      const prediction: Prediction = {
        location: row.station,
        date,
        probability: regression ? 0 : probability,
        decision: regression ? false : probability >= 0.5,
        threshold: regression ? 0 : 0.5,
        modelVersion: o.modelVersion ?? (regression ? REGRESSION_MODEL : MODEL),
        featureSetVersion: FEATURE_SET_VERSION,
        values: valuesOf(values),
        rainToday: null,
        rainfall: null,
        ingestedAt: 0,
        predictedAt: 0,
        task: regression ? 'max_temp' : 'rain',
        value: regression ? forecast : null,
      };
      predictions.push(prediction);
      labeled.push({
        location: row.station,
        date,
        featureSetVersion: FEATURE_SET_VERSION,
        values: prediction.values,
        label: regression ? false : labelRandom() < probability,
        rainfallNext: null,
        task: regression ? 'max_temp' : 'rain',
        target: regression ? target : null,
        value: regression ? forecast : null,
        probability: regression ? 0 : probability,
        modelVersion: prediction.modelVersion,
      });
    }
  }
  return { predictions, labeled };
}

/** The partition of a station in the tests: two partitions, stations alternating. */
export function partitionOf(location: string): number {
  return STATIONS6.indexOf(location as (typeof STATIONS6)[number]) % 2;
}
