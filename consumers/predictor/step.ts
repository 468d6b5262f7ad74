import { TypedError } from '../../lib/platform/errors.ts';

/**
 * The online prediction step: a feature vector and the champion of the moment in, a prediction out. The
 * shell asks for the prepared champion of the moment (lib/models/champion.ts) per batch; nothing here holds
 * on to a model.
 */
import type { FeatureVector, Prediction } from '../../lib/domain/events.ts';
import type { LatestForecast, LatestValueForecast } from '../../lib/domain/state-keys.ts';
import { addDays } from '../../lib/domain/time.ts';
import {
  checkEventDate,
  checkKey,
  checkRain,
  type ObservationRules,
  type StepRejection,
} from '../../lib/domain/weather/validation.ts';
import type { PreparedChampion } from '../../lib/models/champion.ts';

export type PredictErrorCode = 'FEATURE_SET_MISMATCH' | 'PREDICTION_NOT_FINITE';

/** Not retriable: the same event and champion give the same error; the shell sends the event to the DLQ. */
export class PredictError extends TypedError<PredictErrorCode> {}

/**
 * Probability of rain on date+1. The prediction carries the raw (unclipped) feature values: the label
 * join turns them into training rows, and the next training learns its own clipping from them.
 * `decision` is probability >= threshold, the convention of lib/ml/metrics.
 */
export function predictStep(
  fv: FeatureVector,
  champion: PreparedChampion,
  threshold: number,
  now: number,
): Prediction {
  if (fv.featureSetVersion !== champion.featureSetVersion) {
    throw new PredictError(
      'FEATURE_SET_MISMATCH',
      `features ${fv.location} ${fv.date} are ${fv.featureSetVersion}, champion ${champion.version} needs ${champion.featureSetVersion}`,
    );
  }
  const { columns, scratch, bounds } = champion;
  const values = fv.values;
  if (values.length !== champion.width) {
    throw new PredictError(
      'FEATURE_SET_MISMATCH',
      `features ${fv.location} ${fv.date} have ${values.length} values, ${champion.featureSetVersion} has ${champion.width}`,
    );
  }
  for (let j = 0; j < columns.length; j++) {
    let v = values[columns[j]!]!;
    if (bounds !== null)
      v = v < bounds.lower[j]! ? bounds.lower[j]! : v > bounds.upper[j]! ? bounds.upper[j]! : v;
    scratch[j] = v;
  }
  const output = champion.model.predictRow(scratch);
  const regression = champion.model.task === 'regression';
  if (regression ? !Number.isFinite(output) : !(output >= 0 && output <= 1)) {
    throw new PredictError(
      'PREDICTION_NOT_FINITE',
      `champion ${champion.version} returned ${output} for ${fv.location} ${fv.date}`,
    );
  }
  // A regression task has no probability nor decision: 0 and false, its forecast in `value`.
  const probability = regression ? 0 : output;
  return {
    task: champion.task,
    location: fv.location,
    date: fv.date,
    probability,
    value: regression ? output : null,
    decision: !regression && probability >= threshold,
    threshold: regression ? 0 : threshold,
    modelVersion: champion.version,
    featureSetVersion: fv.featureSetVersion,
    values,
    rainToday: fv.rainToday,
    rainfall: fv.rainfall,
    ingestedAt: fv.ingestedAt,
    predictedAt: now,
  };
}

/**
 * Null when a decoded feature vector may be predicted; otherwise the field at fault and why. The features
 * stage only emits valid vectors, so this guards against records written to the topic by anything else:
 * a day past the horizon would become the station's latest forecast, and date arithmetic on a date
 * outside the storable range has no answer.
 */
export function checkFeatureVector(
  fv: FeatureVector,
  rules: ObservationRules,
): { field: string; reason: string } | null {
  const station = rules.stations.check(fv.location);
  if (station) return station;
  const date = checkEventDate(fv.date, rules);
  if (date) return date;
  for (let i = 0; i < fv.values.length; i++) {
    const v = fv.values[i]!;
    // NaN is a missing value; an infinity is no value a feature computes.
    if (v === Infinity || v === -Infinity)
      return { field: `values[${i}]`, reason: `${v} is not a feature value` };
  }
  if (!Number.isFinite(fv.ingestedAt))
    return { field: 'ingestedAt', reason: `${fv.ingestedAt} is not a time` };
  return checkRain(fv.rainToday, fv.rainfall);
}

export interface PredictBatchResult {
  /** In input order. */
  predictions: Prediction[];
  /** The last prediction of each station in the batch: its latest forecast. */
  latest: Map<string, Prediction>;
  rejected: StepRejection[];
}

/**
 * One feature vector (with its record key, when known): checked, then predicted with the champion of the
 * moment; a vector that cannot be (invalid, or not of the champion's feature set) comes back as a
 * rejection, never thrown.
 */
export function predictRecordStep(
  fv: FeatureVector,
  champion: PreparedChampion,
  threshold: number,
  now: number,
  rules: ObservationRules,
  key?: string | null,
): { prediction: Prediction } | { rejection: Omit<StepRejection, 'at'> } {
  const result = predictTasksStep(fv, [champion], threshold, now, rules, key);
  return 'rejection' in result ? result : { prediction: result.predictions[0]! };
}

/**
 * One feature vector, one prediction per task (the champion of each task, in the given order: rain
 * first). The vector is checked once; when any task's champion cannot predict it (another feature set, a
 * value that is not a number) the whole record is refused with that task named: one record, one outcome.
 */
export function predictTasksStep(
  fv: FeatureVector,
  champions: readonly PreparedChampion[],
  threshold: number,
  now: number,
  rules: ObservationRules,
  key?: string | null,
): { predictions: Prediction[] } | { rejection: Omit<StepRejection, 'at'> } {
  const issue = checkFeatureVector(fv, rules) ?? checkKey(key, fv.location);
  if (issue) return { rejection: { kind: 'invalid', ...issue } };
  const predictions: Prediction[] = [];
  for (const champion of champions) {
    try {
      predictions.push(predictStep(fv, champion, threshold, now));
    } catch (error) {
      if (!(error instanceof PredictError)) throw error;
      const field = error.code === 'FEATURE_SET_MISMATCH' ? 'featureSetVersion' : 'values';
      const task = champions.length > 1 ? ` (task ${champion.task})` : '';
      return { rejection: { kind: 'invalid', field, reason: `${error.code}: ${error.message}${task}` } };
    }
  }
  return { predictions };
}

/** predictRecordStep over a batch, in order (tests drive the stage with it). */
export function predictBatchStep(
  events: readonly { event: FeatureVector; key?: string | null }[],
  champion: PreparedChampion,
  threshold: number,
  now: number,
  rules: ObservationRules,
): PredictBatchResult {
  const predictions: Prediction[] = [];
  const latest = new Map<string, Prediction>();
  const rejected: StepRejection[] = [];
  for (let at = 0; at < events.length; at++) {
    const { event, key } = events[at]!;
    const result = predictRecordStep(event, champion, threshold, now, rules, key);
    if ('rejection' in result) {
      rejected.push({ at, ...result.rejection });
      continue;
    }
    predictions.push(result.prediction);
    latest.set(result.prediction.location, result.prediction);
  }
  return { predictions, latest, rejected };
}

/** What `GET /predict?task=<regression task>&location=` serves: the forecast value and its model. */
export function latestValueForecastOf(p: Prediction, unit: string): LatestValueForecast {
  return {
    task: p.task,
    location: p.location,
    date: p.date,
    forecastFor: addDays(p.date, 1),
    value: p.value ?? NaN,
    unit,
    modelVersion: p.modelVersion,
    featureSetVersion: p.featureSetVersion,
    predictedAt: p.predictedAt,
  };
}

/** What `GET /predict?location=` serves: the prediction without its feature values. */
export function latestForecastOf(p: Prediction): LatestForecast {
  return {
    location: p.location,
    date: p.date,
    forecastFor: addDays(p.date, 1),
    probability: p.probability,
    decision: p.decision,
    threshold: p.threshold,
    modelVersion: p.modelVersion,
    featureSetVersion: p.featureSetVersion,
    predictedAt: p.predictedAt,
  };
}
