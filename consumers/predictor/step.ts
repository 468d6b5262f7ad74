/**
 * The online prediction step: a feature vector and the champion of the moment in, a prediction out. The
 * shell swaps the prepared champion when a promotion event arrives; nothing here holds on to a model.
 */
import type { FeatureVector, Prediction } from '../../lib/domain/events.ts';
import { FEATURE_SET_VERSION, featureNamesFor, indexOfFeatures } from '../../lib/domain/features/feature-set.ts';
import { alignBounds, type AlignedBounds, type ClipBounds } from '../../lib/domain/features/clipping.ts';
import type { Model } from '../../lib/ml/model.ts';

export interface Champion {
  version: string;
  model: Model;
  /** Clipping learned with the model; absent for models trained without (the climatology prior). */
  clip?: ClipBounds;
  /** Feature set the model was trained on; default the current one. */
  featureSetVersion?: string;
}

/** A champion checked once against its feature set, with the column map and a reusable scratch row. */
export interface PreparedChampion {
  readonly version: string;
  readonly model: Model;
  readonly featureSetVersion: string;
  /** Values a feature vector of that set carries. */
  readonly width: number;
  /** Feature-vector position of each model column. */
  readonly columns: Int32Array;
  readonly bounds: AlignedBounds | null;
  /** Row buffer reused by every prediction: one model call per event allocates nothing. */
  readonly scratch: Float64Array;
}

export type PredictErrorCode = 'FEATURE_SET_MISMATCH' | 'PREDICTION_NOT_FINITE';

/** Not retriable: the same event and champion give the same error; the shell sends the event to the DLQ. */
export class PredictError extends Error {
  readonly code: PredictErrorCode;
  readonly retriable = false;
  constructor(code: PredictErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function prepareChampion(champion: Champion): PreparedChampion {
  const featureSetVersion = champion.featureSetVersion ?? FEATURE_SET_VERSION;
  const names = featureNamesFor(featureSetVersion);
  if (names === undefined) {
    throw new PredictError(
      'FEATURE_SET_MISMATCH',
      `champion ${champion.version} uses unknown feature set ${featureSetVersion}`,
    );
  }
  let columns: Int32Array;
  try {
    columns = indexOfFeatures(names, champion.model.featureNames);
  } catch (err) {
    throw new PredictError(
      'FEATURE_SET_MISMATCH',
      `champion ${champion.version} needs a feature ${featureSetVersion} lacks: ${(err as Error).message}`,
    );
  }
  return {
    version: champion.version,
    model: champion.model,
    featureSetVersion,
    width: names.length,
    columns,
    bounds: champion.clip === undefined ? null : alignBounds(champion.clip, champion.model.featureNames),
    scratch: new Float64Array(columns.length),
  };
}

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
  const probability = champion.model.predictRow(scratch);
  if (!(probability >= 0 && probability <= 1)) {
    throw new PredictError(
      'PREDICTION_NOT_FINITE',
      `champion ${champion.version} returned ${probability} for ${fv.location} ${fv.date}`,
    );
  }
  return {
    location: fv.location,
    date: fv.date,
    probability,
    decision: probability >= threshold,
    threshold,
    modelVersion: champion.version,
    featureSetVersion: fv.featureSetVersion,
    values,
    rainToday: fv.rainToday,
    rainfall: fv.rainfall,
    ingestedAt: fv.ingestedAt,
    predictedAt: now,
  };
}
