/**
 * The prediction tasks, declared: what is predicted (target and label definition), of which type, scored
 * with which metrics, gated how, by which families, under which champion alias. Every stage takes a task
 * declaration instead of knowing about rain: the predictor emits one prediction per task per observation,
 * the label join labels each with its task's label, the trainer runs each task's weekly schedule with its
 * own registry rows and aliases. Adding a task is a declaration here (and its name in the config's list),
 * not a copy of the pipeline.
 *
 * Labels come from the next day's observation, as the rain label always did: the prediction of (station,
 * D+1) carries D+1's facts (its rain and its raw measurements in the feature vector), so the label join
 * needs no other stream. A task's `label` reads them.
 */
import { FEATURE_NAMES } from '../domain/features/feature-set.ts';
import type { NumericField } from '../domain/weather/observation.ts';
import type { Task as ModelTask } from '../ml/model.ts';
import { DEFAULT_POLICY, type SelectionPolicy } from '../ml/selection.ts';
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';
import { isSwitchableFamily, TASK_NAMES, type TaskName } from '../platform/config.ts';

export { TASK_NAMES, type TaskName } from '../platform/config.ts';

/** The task every event and row without one belongs to (what the pipeline predicted before tasks). */
export const DEFAULT_TASK: TaskName = 'rain';

export class TaskError extends TypedError<'UNKNOWN_TASK'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('UNKNOWN_TASK', message, options);
  }
}

/** A family competing in a task's weekly runs (consumers/trainer/training-run.ts trains it). */
export interface CandidateSpec {
  family: string;
  params: Record<string, unknown>;
  /** Fewest training rows this family is worth training on. */
  minRows: number;
  /**
   * Settings of the family's warm start (ModelFamily.fitWarm), e.g. gbdt `trees`, forest `replace`.
   * Absent on a family without a warm start (linreg): it refits on the training window every run.
   */
  warm?: Record<string, number>;
  /**
   * Rows a warm start fits on: 'unseen' (default), the rows the base has not learned from (what the
   * counting and Bayesian updates need: a row counted twice would weigh twice); or the last N weeks of
   * training rows (trees grown afresh on recent data, the forest's refresh).
   */
  warmRows?: 'unseen' | { weeks: number };
  /** Refit from scratch every run, also between full refits (a family without a warm start, cheap to fit). */
  refitEveryRun?: boolean;
}

/** What the next day's prediction of the same station carries: the facts a label is read from. */
export interface NextDayFacts {
  rainToday: boolean | null;
  /** The feature vector of the next day (fs1 order): its raw measurements are the day's observation. */
  values: readonly number[];
}

export interface TaskDeclaration {
  readonly name: TaskName;
  readonly type: ModelTask;
  /** One line for people: what is predicted. */
  readonly description: string;
  /** The observation quantity of the next day that is the target, and its unit. */
  readonly target: { readonly field: 'rainToday' | NumericField; readonly unit: string };
  /** The label of day D from D+1's facts; null when D+1 does not know it (the day is recorded missing). */
  label(next: NextDayFacts): number | null;
  /** The validation figures reported for a run and by the quality endpoint. */
  readonly metrics: readonly string[];
  /**
   * The gates: `minPrimary` of the task's primary figure (ROC AUC for classification, R² for regression),
   * and how the winner must compare with the champion on the same window.
   */
  readonly policy: SelectionPolicy;
  /** The families that compete each week. */
  readonly families: readonly CandidateSpec[];
  /** Registry aliases: the champion served, the challenger (the best candidate the gates held back). */
  readonly championAlias: string;
  readonly challengerAlias: string;
  /** Version name of the baseline that serves until a trained model is promoted. */
  readonly priorVersion: string;
  /** Weekly runs between two of this task's scheduled runs (1: every event-time week). */
  readonly everyWeeks: number;
}

/**
 * Rain's weekly families. mlrf (ml-random-forest) is left out: on its bounded sample it costs seconds and
 * cannot win (see bench:train); it competes in the benchmark instead.
 */
const RAIN_FAMILIES: readonly CandidateSpec[] = [
  { family: 'climatology', params: {}, minRows: 1 },
  { family: 'logreg', params: {}, minRows: 200 },
  {
    // Warm rounds measured on the last 10 weeks of the file (bench:retrain, BENCH_GBDT_WARM): 10 rounds
    // on 4 weeks scored prequential ROC AUC 0.8952, 3 on 12 weeks 0.8953, none 0.8993 = a full refit every
    // week (0.8993). Rounds fit to a few recent weeks chase weather that does not last, so between the
    // refits the GBDT is carried as it is (the warm start still runs: raise `trees` to boost on).
    family: 'gbdt',
    params: { maxIterations: 200, learningRate: 0.12 },
    minRows: 500,
    warm: { trees: 0 },
    warmRows: { weeks: 4 },
  },
  {
    // Bootstrap samples of a quarter of the rows: about 4x faster trees for no measurable loss here.
    family: 'forest',
    params: { nTrees: 40, minSamplesLeaf: 20, sampleFraction: 0.25, threads: 1 },
    minRows: 500,
    warm: { replace: 5 },
    warmRows: { weeks: 26 },
  },
];

/**
 * Max temperature's families: ridge, whose warm start adds the new rows' normal-equation sums (exact:
 * the ridge fit of every row under the kept standardization), the histogram GBDT from a ridge base
 * (linearBase) that adds a few rounds on the last weeks between refits, and the forest that replaces a
 * few trees with trees of the last half-year, as rain's does.
 */
const MAX_TEMP_FAMILIES: readonly CandidateSpec[] = [
  { family: 'linreg', params: { l2: 1 }, minRows: 200 },
  {
    family: 'gbdt',
    params: { maxIterations: 150, learningRate: 0.1, linearBase: 1 },
    minRows: 500,
    warm: { trees: 5 },
    warmRows: { weeks: 4 },
  },
  {
    family: 'forest',
    params: { nTrees: 30, minSamplesLeaf: 20, sampleFraction: 0.25, threads: 1 },
    minRows: 500,
    warm: { replace: 4 },
    warmRows: { weeks: 26 },
  },
];

const MAX_TEMP_COLUMN = FEATURE_NAMES.indexOf('maxTemp');

/**
 * Regression gates of the original project: R² >= 0.7 and better than the champion on the same window
 * (strictly: an equal R² is no reason to swap models). The composite score is R² less the cost of
 * training time, as for rain less its calibration.
 */
export const REGRESSION_POLICY: SelectionPolicy = {
  ...DEFAULT_POLICY,
  minPrimary: { classification: DEFAULT_POLICY.minPrimary.classification, regression: 0.7 },
  championTolerance: 0,
  mustBeatChampion: true,
};

export const TASKS: Readonly<Record<TaskName, TaskDeclaration>> = Object.freeze({
  rain: {
    name: 'rain',
    type: 'classification',
    description: 'Rain tomorrow (RainTomorrow: more than 1 mm on the next day)',
    target: { field: 'rainToday', unit: 'probability' },
    label: (next: NextDayFacts) => (next.rainToday === null ? null : next.rainToday ? 1 : 0),
    metrics: ['rocAuc', 'brier', 'ece', 'accuracy', 'logLoss'],
    policy: DEFAULT_POLICY,
    families: RAIN_FAMILIES,
    championAlias: 'champion',
    challengerAlias: 'challenger',
    priorVersion: 'prior-climatology',
    everyWeeks: 1,
  },
  max_temp: {
    name: 'max_temp',
    type: 'regression',
    description: "Next day's maximum temperature (the next day's MaxTemp, °C)",
    target: { field: 'maxTemp', unit: '°C' },
    label: (next: NextDayFacts) => {
      const v = next.values[MAX_TEMP_COLUMN];
      return v === undefined || !Number.isFinite(v) ? null : v;
    },
    metrics: ['r2', 'rmse', 'mae'],
    policy: REGRESSION_POLICY,
    families: MAX_TEMP_FAMILIES,
    championAlias: 'max_temp.champion',
    challengerAlias: 'max_temp.challenger',
    priorVersion: 'prior-persistence',
    everyWeeks: 1,
  },
} satisfies Record<TaskName, TaskDeclaration>);

/**
 * The candidates of a task that compete in its weekly runs: those RETRAIN_FAMILIES names, and those it
 * cannot name (max_temp's ridge, that task's baseline), so no task is ever left without a candidate.
 */
export function competingFamilies(
  task: TaskDeclaration,
  retrainFamilies: readonly string[],
): readonly CandidateSpec[] {
  return task.families.filter((c) => !isSwitchableFamily(c.family) || retrainFamilies.includes(c.family));
}

export function isTaskName(name: string): name is TaskName {
  return (TASK_NAMES as readonly string[]).includes(name);
}

/** The declaration of a task, or TaskError naming the known ones. */
export function taskByName(name: string): TaskDeclaration {
  if (!isTaskName(name))
    throw new TaskError(`unknown task ${JSON.stringify(name)}; known: ${TASK_NAMES.join(', ')}`);
  return TASKS[name];
}

/** The declarations of the configured tasks, in the config's order. */
export function tasksOf(names: readonly string[]): TaskDeclaration[] {
  return names.map(taskByName);
}

/** The task an alias belongs to ('champion' is rain's, 'max_temp.champion' max_temp's), or null. */
export function taskOfAlias(alias: string): TaskDeclaration | null {
  for (const t of Object.values(TASKS))
    if (t.championAlias === alias || t.challengerAlias === alias) return t;
  return null;
}

/**
 * The task of an event or row written before tasks existed (no task, or the model row's old
 * 'classification'): rain, the only task there was.
 */
export function taskOrDefault(task: string | null | undefined): string {
  if (task === undefined || task === null || task === '' || task === 'classification') return DEFAULT_TASK;
  return task;
}
