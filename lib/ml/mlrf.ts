import { RandomForestClassifier, RandomForestRegression } from 'ml-random-forest';
import {
  ARTIFACT_FORMAT,
  ModelParamsError,
  assertSameFeatures,
  bodyRecord,
  checkArtifact,
  checkTarget,
  numberArray,
} from './artifact.ts';
import {
  ModelFormatError,
  type Dataset,
  type FitOptions,
  type Model,
  type ModelArtifact,
  type ModelFamily,
  type Task,
} from './model.ts';

/**
 * `ml-random-forest` 2.1.0 (the library named in the design) behind the ModelFamily interface.
 *
 * Its limits, measured (EVALUATION.md "Known limits" and bench/train.ts):
 * - Training time grows about quadratically with rows: every candidate threshold of every feature
 *   re-partitions the node's rows (ml-cart), so the full 116k-row history is out of reach. This wrapper
 *   therefore trains on a bounded, seeded, class-stratified sample (`sampleRows`, default 2,000) and
 *   records the rows it used in `params.sampleRows`; everything else in the history is ignored.
 * - No missing-value handling: NaN is replaced by the per-feature median of the sample.
 * - Feature subsampling is per tree (a fixed column subset), not per split as in Breiman's forest.
 * - Its out-of-bag pass can throw "input must not be empty" with sample bagging, so `noOOB` is on.
 * - `predictProbability` of the library drops the first tree's vote (a reduce without initial value),
 *   so probabilities here are the mean of the trees' leaf class distributions, read from the fitted
 *   trees; regression uses the library's own mean prediction.
 * - Models are large JSON (every node of every tree) and predicting one row walks plain JS objects.
 */

const FORMAT_VERSION = 1;

export type MlrfParams = {
  /** Rows drawn (stratified by class for classification) from the training data. */
  sampleRows: number;
  nEstimators: number;
  /** Fraction of features each tree sees (chosen once per tree, without replacement). */
  maxFeatures: number;
  maxDepth: number;
  /** ml-cart stops splitting a node with this many rows or fewer. */
  minNumSamples: number;
};

/** Fields of the library's fitted objects this wrapper reads; absent from its type declarations. */
interface CartNode {
  classify(row: ArrayLike<number>): { columns: number; get(row: number, column: number): number } | number;
}
interface FittedForest {
  estimators: { root: CartNode }[];
  indexes: number[][];
}

/** mulberry32: a 32-bit seeded generator, enough for drawing a sample. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates prefix: the first k of a seeded permutation of `pool`. */
function drawWithoutReplacement(pool: number[], k: number, next: () => number): number[] {
  const a = pool.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(next() * (a.length - i));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, k);
}

/**
 * Row indices of a seeded sample of `k` rows; for classification each class keeps its share (at least
 * one row of a present class), so a 23 % rain rate stays 23 % in the sample. Returned in row order.
 */
export function stratifiedSample(target: Float64Array, k: number, task: Task, seed: number): Int32Array {
  const n = target.length;
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const next = rng(seed);
  let chosen: number[];
  if (task === 'classification') {
    const pos: number[] = [];
    const neg: number[] = [];
    for (let i = 0; i < n; i++) (target[i] === 1 ? pos : neg).push(i);
    let kPos = Math.round((k * pos.length) / n);
    if (pos.length > 0) kPos = Math.max(1, kPos);
    if (neg.length > 0) kPos = Math.min(kPos, k - 1);
    chosen = [...drawWithoutReplacement(pos, kPos, next), ...drawWithoutReplacement(neg, k - kPos, next)];
  } else {
    chosen = drawWithoutReplacement(
      Array.from({ length: n }, (_, i) => i),
      k,
      next,
    );
  }
  return Int32Array.from(chosen).sort();
}

function medianOf(values: Float64Array): number {
  if (values.length === 0) return 0;
  const s = values.slice().sort();
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

class MlrfModel implements Model {
  readonly family = 'mlrf';
  readonly task: Task;
  readonly featureNames: readonly string[];
  private readonly params: Record<string, unknown>;
  private readonly medians: Float64Array;
  private readonly forest: RandomForestClassifier | RandomForestRegression;
  /** The library's own export, serialized once (its trees hold ml-matrix objects until stringified). */
  private readonly forestJson: unknown;
  private readonly scratch: number[];

  constructor(
    task: Task,
    featureNames: readonly string[],
    params: Record<string, unknown>,
    medians: Float64Array,
    forest: RandomForestClassifier | RandomForestRegression,
    forestJson: unknown,
  ) {
    this.task = task;
    this.featureNames = featureNames;
    this.params = params;
    this.medians = medians;
    this.forest = forest;
    this.forestJson = forestJson;
    this.scratch = new Array<number>(featureNames.length).fill(0);
    const f = forest as unknown as Partial<FittedForest>;
    if (
      !Array.isArray(f.estimators) ||
      !Array.isArray(f.indexes) ||
      f.estimators.length !== f.indexes.length
    ) {
      throw new ModelFormatError('ml-random-forest model lacks its estimators or feature indexes');
    }
  }

  private imputed(row: ArrayLike<number>): number[] {
    const out = this.scratch;
    for (let c = 0; c < out.length; c++) {
      const v = row[c]!;
      out[c] = v === v ? v : this.medians[c]!;
    }
    return out;
  }

  /** Mean over trees of the positive class's share in the leaf the row reaches. */
  private probability(row: number[]): number {
    const { estimators, indexes } = this.forest as unknown as FittedForest;
    let sum = 0;
    for (let t = 0; t < estimators.length; t++) {
      const cols = indexes[t]!;
      const sub = new Array<number>(cols.length);
      for (let j = 0; j < cols.length; j++) sub[j] = row[cols[j]!]!;
      const dist = estimators[t]!.root.classify(sub);
      // A leaf that saw only class 0 stores a one-column distribution.
      if (typeof dist !== 'number' && dist.columns > 1) sum += dist.get(0, 1);
    }
    return Math.min(1, Math.max(0, sum / estimators.length));
  }

  predictRow(row: ArrayLike<number>): number {
    const x = this.imputed(row);
    if (this.task === 'classification') return this.probability(x);
    return (this.forest as RandomForestRegression).predict([x.slice()])[0]!;
  }

  predictBatch(data: Dataset, out?: Float64Array): Float64Array {
    assertSameFeatures(this.featureNames, data.featureNames);
    const n = data.nRows;
    const d = this.featureNames.length;
    const result = out ?? new Float64Array(n);
    const row = new Float64Array(d);
    if (this.task === 'classification') {
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < d; c++) row[c] = data.data[c * n + r]!;
        result[r] = this.probability(this.imputed(row));
      }
      return result;
    }
    const rows: number[][] = [];
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < d; c++) row[c] = data.data[c * n + r]!;
      rows.push(this.imputed(row).slice());
    }
    const predicted = (this.forest as RandomForestRegression).predict(rows);
    for (let r = 0; r < n; r++) result[r] = predicted[r]!;
    return result;
  }

  toJSON(): ModelArtifact {
    return {
      format: ARTIFACT_FORMAT,
      formatVersion: FORMAT_VERSION,
      family: this.family,
      task: this.task,
      featureNames: [...this.featureNames],
      params: this.params,
      body: { medians: Array.from(this.medians), forest: this.forestJson },
    };
  }
}

function checkParams(p: MlrfParams): void {
  const intAtLeast = (name: keyof MlrfParams, min: number) => {
    if (!Number.isInteger(p[name]) || p[name] < min)
      throw new ModelParamsError(`${name} must be an integer >= ${min}, got ${p[name]}`);
  };
  intAtLeast('sampleRows', 2);
  intAtLeast('nEstimators', 1);
  intAtLeast('maxDepth', 1);
  intAtLeast('minNumSamples', 1);
  if (!(p.maxFeatures > 0 && p.maxFeatures <= 1))
    throw new ModelParamsError(`maxFeatures must be in (0, 1], got ${p.maxFeatures}`);
}

export const mlrfFamily: ModelFamily<MlrfParams> = {
  family: 'mlrf',
  // Each tree costs about 0.1 s per feature it sees on 2,000 rows (measured, 30 features, one core):
  // 10 trees x 12 features is about 12 s, the budget this family gets in a retraining.
  defaults: { sampleRows: 2000, nEstimators: 10, maxFeatures: 0.4, maxDepth: 10, minNumSamples: 3 },
  fit(
    data: Dataset,
    target: Float64Array,
    task: Task,
    params: Partial<MlrfParams>,
    options: FitOptions,
  ): Model {
    const p = { ...this.defaults, ...params };
    checkParams(p);
    if (data.nRows < 2) throw new ModelParamsError('mlrf needs at least 2 rows');
    checkTarget(target, data.nRows, task);
    const sample = stratifiedSample(target, p.sampleRows, task, options.seed);
    const d = data.featureNames.length;
    const n = data.nRows;
    const medians = new Float64Array(d);
    for (let c = 0; c < d; c++) {
      const present: number[] = [];
      for (const r of sample) {
        const v = data.data[c * n + r]!;
        if (v === v) present.push(v);
      }
      medians[c] = medianOf(Float64Array.from(present));
    }
    const rows: number[][] = [];
    const y: number[] = [];
    for (const r of sample) {
      const row = new Array<number>(d);
      for (let c = 0; c < d; c++) {
        const v = data.data[c * n + r]!;
        row[c] = v === v ? v : medians[c]!;
      }
      rows.push(row);
      y.push(target[r]!);
    }
    // maxFeatures 1.0 is read by the library as "all columns"; a float below 1 as a fraction.
    const options_ = {
      nEstimators: p.nEstimators,
      maxFeatures: p.maxFeatures,
      replacement: false,
      seed: options.seed | 0,
      useSampleBagging: true,
      noOOB: true,
      treeOptions: { maxDepth: p.maxDepth, minNumSamples: p.minNumSamples },
    };
    const forest =
      task === 'classification' ? new RandomForestClassifier(options_) : new RandomForestRegression(options_);
    forest.train(rows, y);
    const forestJson = JSON.parse(JSON.stringify(forest.toJSON())) as unknown;
    const recorded = { ...p, sampleRows: sample.length };
    return new MlrfModel(task, [...data.featureNames], recorded, medians, forest, forestJson);
  },
  fromJSON(artifact: ModelArtifact): Model {
    const a = checkArtifact(artifact, 'mlrf', FORMAT_VERSION);
    const body = bodyRecord(a);
    const medians = numberArray(body, 'medians', a.featureNames.length);
    const forestJson = body.forest as { name?: unknown } | undefined;
    const expectedName = a.task === 'classification' ? 'RFClassifier' : 'RFRegression';
    if (typeof forestJson !== 'object' || forestJson === null || forestJson.name !== expectedName) {
      throw new ModelFormatError(`artifact body.forest is not an ml-random-forest ${expectedName} export`);
    }
    let forest: RandomForestClassifier | RandomForestRegression;
    try {
      forest =
        a.task === 'classification'
          ? RandomForestClassifier.load(forestJson as never)
          : RandomForestRegression.load(forestJson as never);
    } catch (err) {
      throw new ModelFormatError(`ml-random-forest could not load the forest: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new MlrfModel(a.task, [...a.featureNames], { ...a.params }, medians, forest, forestJson);
  },
};
