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
import { PersistenceModel } from '../ml/persistence.ts';
import { loadStoredModel, type Alias, type StoredModel } from './registry.ts';
import { TASKS, type TaskDeclaration, type TaskName } from './tasks.ts';

/** The version name of the climatology prior that serves rain until a trained model is promoted. */
export const PRIOR_VERSION = TASKS.rain.priorVersion;

/** Mean MaxTemp of weatherAUS (°C): the persistence prior's answer for a day with no temperature at all. */
export const WEATHER_AUS_MEAN_MAX_TEMP = 23.2;

export interface Champion {
  /** The task it serves (absent: rain, as before tasks). */
  task?: TaskName;
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

export type ChampionErrorCode = 'FEATURE_SET_MISMATCH' | 'CHAMPION_MISSING' | 'TASK_MISMATCH';

/** A champion this code cannot load or feed: not a record's fault, and no retry changes it. */
export class ChampionError extends TypedError<ChampionErrorCode> {}

/** A source that always answers the same champion (the prior baseline, a benchmark's fixed model). */
export function fixedChampionSource(champion: Champion): ChampionSource {
  return { current: () => champion, close: async () => undefined };
}

/**
 * The baseline that serves a task before any trained model: rain's climatology prior; for a regression
 * task, persistence of its target field (today's value for tomorrow's, then the 3 pm temperature).
 */
export function priorChampion(task: TaskDeclaration = TASKS.rain): Champion {
  const model =
    task.type === 'classification'
      ? priorClimatologyModel(FEATURE_NAMES)
      : new PersistenceModel(FEATURE_NAMES, [task.target.field, 'temp3pm'], WEATHER_AUS_MEAN_MAX_TEMP);
  return {
    task: task.name,
    version: task.priorVersion,
    family: model.family,
    featureSetVersion: FEATURE_SET_VERSION,
    model,
    clip: null,
    trainedUntil: null,
  };
}

/** A registered model (or a freshly trained record of one) as the champion that serves `task`. */
export function championFromStored(
  stored: Pick<StoredModel, 'version' | 'family' | 'featureSetVersion' | 'trainEnd' | 'bundle'>,
  task: TaskDeclaration = TASKS.rain,
): Champion {
  const model = loadModel(stored.bundle.model, FEATURE_NAMES);
  if (model.task !== task.type) {
    throw new ChampionError(
      'TASK_MISMATCH',
      `${stored.version} is a ${model.task} model; task ${task.name} needs ${task.type}`,
    );
  }
  return {
    task: task.name,
    version: stored.version,
    family: stored.family,
    featureSetVersion: stored.featureSetVersion,
    model,
    clip: stored.bundle.clip,
    trainedUntil: stored.trainEnd,
  };
}

/** The task's champion the registry names now; the task's prior when none was promoted. */
export async function loadChampion(runner: SqlRunner, task: TaskDeclaration = TASKS.rain): Promise<Champion> {
  const alias = await currentAlias(runner, task.championAlias as Alias);
  if (!alias) return priorChampion(task);
  const stored = await loadStoredModel(runner, alias.version);
  if (!stored) {
    throw new ChampionError(
      'CHAMPION_MISSING',
      `champion alias points at ${alias.version}, which the registry does not hold`,
    );
  }
  return championFromStored(stored, task);
}

/** A champion checked once against its feature set, with the column map and a reusable scratch row. */
export interface PreparedChampion {
  /** The task the champion serves (rain for a champion that names none). */
  readonly task: TaskName;
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
    task: champion.task ?? 'rain',
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
