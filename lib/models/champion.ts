import { TypedError } from '../platform/errors.ts';

/**
 * The champion as the online paths see it: a loaded model with the preprocessing it was trained with, and
 * the one adapter that makes it ready to score feature vectors. The predictor and the API hold a
 * ChampionSource and ask it for `current()` on every use, so a promotion takes effect without a restart.
 */
import { alignBounds, type AlignedBounds, type ClipBounds } from '../domain/features/clipping.ts';
import {
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
  featureNamesFor,
  indexOfFeatures,
} from '../domain/features/feature-set.ts';
import type { SqlRunner } from '../platform/clickhouse/client.ts';
import { currentAlias } from '../platform/clickhouse/queries/models.ts';
import { priorClimatologyModel } from '../ml/climatology.ts';
import { loadModel } from '../ml/families.ts';
import type { Model } from '../ml/model.ts';
import { loadStoredModel, type StoredModel } from './registry.ts';

/** The version name of the climatology prior that serves until a trained model is promoted. */
export const PRIOR_VERSION = 'prior-climatology';

export interface Champion {
  version: string;
  family: string;
  featureSetVersion: string;
  model: Model;
  /** Outlier bounds learned at training time; null for models trained without clipping. */
  clip: ClipBounds | null;
  /** Last day of the training data; null for the prior baseline. */
  trainedUntil: string | null;
}

export interface ChampionSource {
  current(): Champion;
  close(): Promise<void>;
}

export type ChampionErrorCode = 'FEATURE_SET_MISMATCH' | 'CHAMPION_MISSING';

/** A champion this code cannot load or feed: not a record's fault, and no retry changes it. */
export class ChampionError extends TypedError<ChampionErrorCode> {}

/** A source that always answers the same champion (the prior baseline, a benchmark's fixed model). */
export function fixedChampionSource(champion: Champion): ChampionSource {
  return { current: () => champion, close: async () => undefined };
}

export function priorChampion(): Champion {
  return {
    version: PRIOR_VERSION,
    family: 'climatology',
    featureSetVersion: FEATURE_SET_VERSION,
    model: priorClimatologyModel(FEATURE_NAMES),
    clip: null,
    trainedUntil: null,
  };
}

export function championFromStored(stored: StoredModel): Champion {
  return {
    version: stored.version,
    family: stored.family,
    featureSetVersion: stored.featureSetVersion,
    model: loadModel(stored.bundle.model, FEATURE_NAMES),
    clip: stored.bundle.clip,
    trainedUntil: stored.trainEnd,
  };
}

/** The champion the registry names now; the prior when none was promoted. */
export async function loadChampion(runner: SqlRunner): Promise<Champion> {
  const alias = await currentAlias(runner, 'champion');
  if (!alias) return priorChampion();
  const stored = await loadStoredModel(runner, alias.version);
  if (!stored) {
    throw new ChampionError(
      'CHAMPION_MISSING',
      `champion alias points at ${alias.version}, which the registry does not hold`,
    );
  }
  return championFromStored(stored);
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

export function prepareChampion(champion: Champion): PreparedChampion {
  const featureSetVersion = champion.featureSetVersion;
  const names = featureNamesFor(featureSetVersion);
  if (names === undefined) {
    throw new ChampionError(
      'FEATURE_SET_MISMATCH',
      `champion ${champion.version} uses unknown feature set ${featureSetVersion}`,
    );
  }
  let columns: Int32Array;
  try {
    columns = indexOfFeatures(names, champion.model.featureNames);
  } catch (err) {
    throw new ChampionError(
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
    bounds: champion.clip === null ? null : alignBounds(champion.clip, champion.model.featureNames),
    scratch: new Float64Array(columns.length),
  };
}

/**
 * The champion of the moment, prepared once per champion object: a promotion hands the source a new
 * object, which is prepared on first use, so a swap shows on the next call without a restart.
 */
export function preparedChampionOf(source: ChampionSource): () => PreparedChampion {
  let prepared: { source: Champion; ready: PreparedChampion } | null = null;
  return () => {
    const champion = source.current();
    if (prepared?.source !== champion) prepared = { source: champion, ready: prepareChampion(champion) };
    return prepared.ready;
  };
}
