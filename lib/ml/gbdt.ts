/**
 * Histogram gradient-boosted trees (the LightGBM / scikit-learn HistGradientBoosting design):
 * quantile-binned features, leaf-wise best-first growth, missing values sent to the better side at each
 * split, the smaller child's histogram built and the sibling's obtained by subtraction, early stopping
 * on a validation slice. Logloss (output: probability) for classification, squared error for regression.
 * Regression starts from a ridge fit of the features (linearBase) rather than the target's mean.
 */
import { binDataset, fitBinEdges, thresholdOfBin, valueBinCount } from './binning.ts';
import {
  ModelFormatError,
  type Dataset,
  type FitOptions,
  type Model,
  type ModelArtifact,
  type ModelFamily,
  type Task,
  type WarmFitOptions,
} from './model.ts';
import {
  addTreesBatch,
  CompiledTrees,
  concatTrees,
  decodeFloats,
  edgesFromJson,
  edgesToJson,
  normaliseImportance,
  TreeRecorder,
  treesFromJson,
  treesToJson,
  type FlatTrees,
} from './tree.ts';
import { HIST_FEATURE_STRIDE, MISSING_SLOT, packingScale, unpackCount } from './tree-hist.ts';
import { HistArena } from './tree-arena.ts';
import { checkTrainingData, resolveParams, sliceRows, type NumberRule } from './tree-params.ts';
import {
  assertSameFeatures,
  bodyRecord,
  checkArtifact,
  checkArtifactTag,
  ModelParamsError,
  numberArray,
} from './artifact.ts';
import { addRawLinear, fitRawLinear, rawLinearRow, type RawLinear } from './linear.ts';

export type GbdtParams = {
  /** Shrinkage applied to every leaf value. */
  learningRate: number;
  /** Boosting rounds; early stopping may keep fewer. */
  maxIterations: number;
  /** Leaves per tree (leaf-wise growth stops there). */
  maxLeaves: number;
  /** Depth limit (root = 0); 0 means none, the leaf count alone bounds the tree. */
  maxDepth: number;
  minSamplesLeaf: number;
  /** Minimum hessian sum in a leaf (for logloss, sum of p(1-p)). */
  minHessianLeaf: number;
  /** L2 penalty on leaf values. */
  l2: number;
  /** A split must improve the objective by more than this. */
  minGain: number;
  /** Value bins per feature (missing values get their own bin on top). */
  maxBins: number;
  /** Stop when the validation loss has not improved for this many rounds; 0 disables early stopping. */
  earlyStoppingRounds: number;
  /**
   * Without options.validation, this tail fraction of the rows (chronological when the rows are sorted
   * by time) is held out for early stopping; 0 trains on every row for maxIterations.
   */
  validationFraction: number;
  /**
   * 2: a worker thread builds half of each large histogram; 1: everything on the calling thread. Default
   * 2 for classification, 1 for regression: squared error carries its root histogram from round to round
   * (RootCarry), which leaves only the children's histograms to share, and on the busy 2-core machine the
   * helper's polling then cost more than its half saved (max_temp's 300 rounds: 2.2-2.3 s on one thread,
   * 2.9-3.4 s on two, each run beside the other).
   */
  threads: number;
  /**
   * Regression only (classification ignores it): 1 starts boosting from a ridge regression of the
   * features (l2 = 1 on standardized features, missing values at their mean), so the trees fit its
   * residuals; 0 starts from the target's mean. Trees approximate a linear trend (tomorrow's maximum
   * temperature follows today's almost linearly) with many small steps, and 300 rounds from the mean
   * leave part of it unlearned: on next-day MaxTemp, trained before 2014 / 2015 and scored on that
   * year, the linear start raised R² by 0.0006 / 0.0005 at the same rounds, for ~0.1 s of fitting.
   */
  linearBase: number;
};

/** Format of an artifact without a linear base (every classifier, and regression with linearBase 0). */
export const GBDT_FORMAT_VERSION = 1;
/**
 * Format of an artifact whose body holds a linear base: a build that only reads version 1 would drop it
 * and predict the residual alone, so such an artifact must not look readable to it.
 */
export const GBDT_LINEAR_FORMAT_VERSION = 2;

/**
 * Defaults chosen on protocol 1's training period (train before 2015, score 2015), not on its test
 * rows: l2 = 5..10 scored 0.002 ROC AUC above l2 = 1, and holding out a tail slice for early stopping
 * costs more (the newest rows are the most useful) than it saves, so early stopping runs only on
 * options.validation unless validationFraction asks for a tail slice.
 */
export const gbdtDefaults: GbdtParams = {
  learningRate: 0.1,
  maxIterations: 300,
  maxLeaves: 31,
  maxDepth: 0,
  minSamplesLeaf: 20,
  minHessianLeaf: 1e-3,
  l2: 10,
  minGain: 0,
  maxBins: 255,
  earlyStoppingRounds: 20,
  validationFraction: 0,
  threads: 2,
  linearBase: 1,
};

const RULES: { readonly [K in keyof GbdtParams]: NumberRule } = {
  learningRate: { min: 0, max: 10, exclusiveMin: true },
  maxIterations: { min: 1, max: 100_000, integer: true },
  maxLeaves: { min: 2, max: 65_536, integer: true },
  maxDepth: { min: 0, max: 64, integer: true },
  minSamplesLeaf: { min: 1, max: 1e9, integer: true },
  minHessianLeaf: { min: 0, max: 1e9 },
  l2: { min: 0, max: 1e9 },
  minGain: { min: 0, max: 1e9 },
  maxBins: { min: 2, max: 255, integer: true },
  earlyStoppingRounds: { min: 0, max: 100_000, integer: true },
  validationFraction: { min: 0, max: 0.9 },
  threads: { min: 1, max: 2, integer: true },
  linearBase: { min: 0, max: 1, integer: true },
};

interface Split {
  feature: number;
  bin: number;
  missingLeft: boolean;
  gain: number;
  gradLeft: number;
  hessLeft: number;
  countLeft: number;
}

interface Leaf {
  start: number;
  end: number;
  count: number;
  grad: number;
  hess: number;
  depth: number;
  /** Recorder node whose child this leaf is (-1 for the root) and on which side. */
  parentNode: number;
  isLeft: boolean;
  /** Byte offset of the leaf's histogram in the arena, or -1. */
  hist: number;
  split: Split | null;
}

/** Everything one boosting round reads; built once per fit. */
interface Booster {
  readonly p: GbdtParams;
  readonly nRows: number;
  readonly nFeatures: number;
  readonly arena: HistArena;
  readonly edges: readonly Float64Array[];
  readonly valueBins: Int32Array;
  readonly scale: number;
  readonly invScale: number;
  readonly gain: Float64Array;
  /** Squared error only: the root histogram carried from one round to the next (RootCarry). */
  readonly carry: RootCarry | null;
}

/**
 * With squared error a row's gradient is its score minus its target, so a round that adds leaf value v
 * to a row adds exactly v to its gradient, and its hessian (1) does not change. The next round's root
 * histogram is therefore this round's plus, per leaf, v times the leaf's count in each bin: about 8,000
 * bins per leaf instead of every row times every feature (the root was a quarter of a regression fit).
 * Each tree keeps a histogram of every final leaf for it (the last split's children and leaves too small
 * to split cost a histogram of their rows, a few percent of a root). Counts are exact in the packed
 * channel, so only the gradient sums differ from a rebuilt root, by the rounding of the additions.
 */
interface RootCarry {
  /** Byte offset of the carried root histogram, -1 before the first round. */
  ptr: number;
  /** False until a root was built, and after a round whose tree kept no leaf histograms. */
  valid: boolean;
}

function newCarry(task: Task): RootCarry | null {
  return task === 'regression' ? { ptr: -1, valid: false } : null;
}

/** carry.grad += value * count, per bin of the leaf histogram at `leafPtr` (the value bins and missing). */
function carryLeaf(b: Booster, carryPtr: number, leafPtr: number, value: number): void {
  const hist = b.arena.f64;
  const { invScale } = b;
  const c = carryPtr >>> 3;
  const l = leafPtr >>> 3;
  for (let f = 0; f < b.nFeatures; f++) {
    const o = f * HIST_FEATURE_STRIDE;
    const nb = b.valueBins[f]!;
    for (let s = o; s < o + 2 * nb; s += 2) {
      const packed = hist[l + s + 1]!;
      if (packed !== 0) hist[c + s]! += value * unpackCount(packed, invScale);
    }
    const m = o + MISSING_SLOT;
    const packed = hist[l + m + 1]!;
    if (packed !== 0) hist[c + m]! += value * unpackCount(packed, invScale);
  }
}

/** Best split of a leaf over all features, or null when no split satisfies the constraints. */
function findBestSplit(b: Booster, histPtr: number, leaf: Leaf): Split | null {
  const hist = b.arena.f64;
  const histBase = histPtr >>> 3;
  const { l2, minSamplesLeaf: minLeaf, minHessianLeaf: minHess } = b.p;
  const { scale, invScale, valueBins } = b;
  const G = leaf.grad;
  const H = leaf.hess;
  const n = leaf.count;
  const parentScore = (G * G) / (H + l2);
  let bestGain = b.p.minGain;
  let best: Split | null = null;
  for (let f = 0; f < b.nFeatures; f++) {
    const o = histBase + f * HIST_FEATURE_STRIDE;
    const nb = valueBins[f]!;
    const missPacked = hist[o + MISSING_SLOT + 1]!;
    const missGrad = hist[o + MISSING_SLOT]!;
    const missCount = unpackCount(missPacked, invScale);
    const missHess = missPacked - missCount * scale;
    // With missing values present, the last value bin is a real candidate: every present value left,
    // missing right.
    const lastBin = missCount > 0 ? nb - 1 : nb - 2;
    let gl = 0;
    let sl = 0;
    for (let bin = 0; bin <= lastBin; bin++) {
      gl += hist[o + 2 * bin]!;
      sl += hist[o + 2 * bin + 1]!;
      const cl = unpackCount(sl, invScale);
      if (cl === 0) continue;
      const hl = sl - cl * scale;
      // Missing to the right.
      const cr = n - cl;
      if (cr < minLeaf) break;
      if (cl >= minLeaf) {
        const hr = H - hl;
        if (hl >= minHess && hr >= minHess) {
          const gr = G - gl;
          const gain = (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            // No missing value seen here: send future ones to the bigger side.
            const missingLeft = missCount === 0 && cl > cr;
            best = { feature: f, bin, missingLeft, gain, gradLeft: gl, hessLeft: hl, countLeft: cl };
          }
        }
      }
      // Missing to the left.
      if (missCount > 0 && bin < nb - 1) {
        const cl2 = cl + missCount;
        const cr2 = n - cl2;
        if (cl2 >= minLeaf && cr2 >= minLeaf) {
          const hl2 = hl + missHess;
          const hr2 = H - hl2;
          if (hl2 >= minHess && hr2 >= minHess) {
            const gl2 = gl + missGrad;
            const gr2 = G - gl2;
            const gain = (gl2 * gl2) / (hl2 + l2) + (gr2 * gr2) / (hr2 + l2) - parentScore;
            if (gain > bestGain) {
              bestGain = gain;
              best = {
                feature: f,
                bin,
                missingLeft: true,
                gain,
                gradLeft: gl2,
                hessLeft: hl2,
                countLeft: cl2,
              };
            }
          }
        }
      }
    }
  }
  return best;
}

function buildHist(b: Booster, histPtr: number, leaf: Leaf, isRoot: boolean): void {
  if (isRoot) b.arena.histogramOfRange(histPtr, 0, b.nRows);
  else b.arena.histogramOfRows(histPtr, leaf.start, leaf.end);
}

function canSplit(b: Booster, leaf: Leaf): boolean {
  const p = b.p;
  return (
    leaf.count >= 2 * p.minSamplesLeaf &&
    leaf.hess >= 2 * p.minHessianLeaf &&
    (p.maxDepth === 0 || leaf.depth < p.maxDepth)
  );
}

/**
 * Training scores kept in the form the gradients need: the raw score for squared error, and e^-raw for
 * logloss, so that a leaf value v updates a row by one multiplication by e^-v (computed once per leaf)
 * and the gradient needs no exp per row. Over 300 rounds the products drift by ~1e-14 relative.
 */
interface Scores {
  readonly task: Task;
  readonly values: Float64Array;
}

/** Grows one tree on the current gradients and applies its leaf values to the training scores. */
function growTree(b: Booster, scores: Scores): FlatTrees {
  const p = b.p;
  const rec = new TreeRecorder();
  const { arena } = b;
  const gh = arena.gh;
  let gradSum = 0;
  let hessSum = 0;
  for (let r = 0; r < b.nRows; r++) {
    gradSum += gh[2 * r]!;
    hessSum += gh[2 * r + 1]! - b.scale;
  }
  const idx0 = arena.idx;
  for (let r = 0; r < b.nRows; r++) idx0[r] = r;
  const root: Leaf = {
    start: 0,
    end: b.nRows,
    count: b.nRows,
    grad: gradSum,
    hess: hessSum,
    depth: 0,
    parentNode: -1,
    isLeft: true,
    hist: -1,
    split: null,
  };
  const carry = b.carry;
  if (canSplit(b, root)) {
    root.hist = arena.takeHist();
    if (carry?.valid) arena.copyHist(root.hist, carry.ptr);
    else {
      buildHist(b, root.hist, root, true);
      if (carry) {
        if (carry.ptr < 0) carry.ptr = arena.takeHist();
        arena.copyHist(carry.ptr, root.hist);
        carry.valid = true;
      }
    }
    root.split = findBestSplit(b, root.hist, root);
  } else if (carry) carry.valid = false;
  const leaves: Leaf[] = [root];
  while (leaves.length < p.maxLeaves) {
    let pick = -1;
    for (let i = 0; i < leaves.length; i++) {
      const s = leaves[i]!.split;
      if (s && (pick < 0 || s.gain > leaves[pick]!.split!.gain)) pick = i;
    }
    if (pick < 0) break;
    const parent = leaves[pick]!;
    const split = parent.split!;
    const node = rec.addNode(
      split.feature,
      thresholdOfBin(b.edges[split.feature]!, split.bin),
      split.missingLeft,
    );
    rec.setChild(parent.parentNode, parent.isLeft, node);
    b.gain[split.feature]! += split.gain;
    const mid = arena.partition(parent.start, parent.end, split.feature, split.bin, split.missingLeft);
    const depth = parent.depth + 1;
    const left: Leaf = {
      start: parent.start,
      end: mid,
      count: split.countLeft,
      grad: split.gradLeft,
      hess: split.hessLeft,
      depth,
      parentNode: node,
      isLeft: true,
      hist: -1,
      split: null,
    };
    const right: Leaf = {
      start: mid,
      end: parent.end,
      count: parent.count - split.countLeft,
      grad: parent.grad - split.gradLeft,
      hess: parent.hess - split.hessLeft,
      depth,
      parentNode: node,
      isLeft: false,
      hist: -1,
      split: null,
    };
    leaves[pick] = left;
    leaves.push(right);
    const parentHist = parent.hist;
    // The last split of a tree needs no child histograms.
    const canLeft = leaves.length < p.maxLeaves && canSplit(b, left);
    const canRight = leaves.length < p.maxLeaves && canSplit(b, right);
    if (carry?.valid) {
      // The carry needs every final leaf's counts: both children get a histogram, split or not.
      const small = left.count <= right.count ? left : right;
      const large = small === left ? right : left;
      small.hist = arena.takeHist();
      buildHist(b, small.hist, small, false);
      arena.subtract(parentHist, small.hist);
      large.hist = parentHist;
      if (small === left ? canLeft : canRight) small.split = findBestSplit(b, small.hist, small);
      if (small === left ? canRight : canLeft) large.split = findBestSplit(b, large.hist, large);
    } else if (canLeft || canRight) {
      const small = left.count <= right.count ? left : right;
      const large = small === left ? right : left;
      const canSmall = small === left ? canLeft : canRight;
      const canLarge = small === left ? canRight : canLeft;
      const smallHist = canLarge ? arena.takeHist() : parentHist;
      buildHist(b, smallHist, small, false);
      if (canLarge) {
        arena.subtract(parentHist, smallHist);
        large.hist = parentHist;
        large.split = findBestSplit(b, parentHist, large);
      }
      if (canSmall) {
        small.hist = smallHist;
        small.split = findBestSplit(b, smallHist, small);
      } else arena.releaseHist(smallHist);
    } else arena.releaseHist(parentHist);
    if (!carry?.valid) {
      for (const child of [left, right]) {
        if (child.hist >= 0 && !child.split) {
          arena.releaseHist(child.hist);
          child.hist = -1;
        }
      }
    }
  }
  const idx = arena.idx;
  for (const leaf of leaves) {
    const value = (-leaf.grad / (leaf.hess + p.l2)) * p.learningRate;
    // In carry mode every final leaf has its histogram (a root that could not split left it invalid).
    if (carry?.valid) carryLeaf(b, carry.ptr, leaf.hist, value);
    if (leaf.hist >= 0) arena.releaseHist(leaf.hist);
    rec.setChild(leaf.parentNode, leaf.isLeft, rec.addLeaf(value));
    const v = scores.values;
    if (scores.task === 'classification') {
      const factor = Math.exp(-value);
      for (let i = leaf.start; i < leaf.end; i++) v[idx[i]!]! *= factor;
    } else {
      for (let i = leaf.start; i < leaf.end; i++) v[idx[i]!]! += value;
    }
  }
  return rec.finish();
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Fills gradients and packed count+hessian for the loss at the current scores. */
function computeGradients(scores: Scores, y: Float64Array, b: Booster): void {
  const { scale } = b;
  const gh = b.arena.gh;
  const v = scores.values;
  if (scores.task === 'classification') {
    for (let r = 0; r < v.length; r++) {
      const prob = 1 / (1 + v[r]!);
      gh[2 * r] = prob - y[r]!;
      // A floor keeps leaves of fully separated rows from dividing by ~0 when l2 = 0.
      gh[2 * r + 1] = scale + Math.max(prob * (1 - prob), 1e-16);
    }
  } else {
    for (let r = 0; r < v.length; r++) {
      gh[2 * r] = v[r]! - y[r]!;
      gh[2 * r + 1] = scale + 1;
    }
  }
}

/** Mean loss of raw scores: logloss for classification, squared error for regression. */
function meanLoss(task: Task, raw: Float64Array, y: Float64Array): number {
  let sum = 0;
  if (task === 'classification') {
    for (let i = 0; i < raw.length; i++) {
      const z = raw[i]!;
      // log(1 + e^z) - y z, stable for large |z|.
      sum += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y[i]! * z;
    }
  } else {
    for (let i = 0; i < raw.length; i++) {
      const d = raw[i]! - y[i]!;
      sum += d * d;
    }
  }
  return sum / raw.length;
}

function baseScore(task: Task, y: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i]!;
  const mean = sum / y.length;
  if (task === 'regression') return mean;
  const clipped = Math.min(1 - 1e-12, Math.max(1e-12, mean));
  return Math.log(clipped / (1 - clipped));
}

export interface GbdtTrainingInfo {
  /** Rounds run before stopping. */
  readonly iterationsRun: number;
  /** Trees kept (the best validation round when early stopping ran). */
  readonly treesKept: number;
  readonly validationLoss: readonly number[];
  readonly trainRows: number;
  readonly validationRows: number;
  /** Histograms built by both threads, and why the helper thread was given up (if it was). */
  readonly sharedHistograms: number;
  /** Root histograms built from the rows: every round for logloss, the first only for squared error. */
  readonly rootHistograms: number;
  readonly helperError: string | null;
}

export class GbdtModel implements Model {
  readonly family = 'gbdt';
  readonly task: Task;
  readonly featureNames: readonly string[];
  readonly params: GbdtParams;
  readonly trees: FlatTrees;
  readonly baseScore: number;
  /** Regression's linear start (added to baseScore and the trees), or null. */
  readonly linear: RawLinear | null;
  readonly binEdges: readonly Float64Array[];
  /** Total split gain per feature, in feature order. */
  readonly gain: Float64Array;
  readonly info: GbdtTrainingInfo | null;
  private compiledTrees: CompiledTrees | null = null;

  constructor(fields: {
    task: Task;
    featureNames: readonly string[];
    params: GbdtParams;
    trees: FlatTrees;
    baseScore: number;
    linear?: RawLinear | null;
    binEdges: readonly Float64Array[];
    gain: Float64Array;
    info: GbdtTrainingInfo | null;
  }) {
    this.task = fields.task;
    this.featureNames = fields.featureNames;
    this.params = fields.params;
    this.trees = fields.trees;
    this.baseScore = fields.baseScore;
    this.linear = fields.linear ?? null;
    this.binEdges = fields.binEdges;
    this.gain = fields.gain;
    this.info = fields.info;
  }

  get nTrees(): number {
    return this.trees.roots.length;
  }

  predictRow(row: ArrayLike<number>): number {
    if (row.length !== this.featureNames.length) {
      throw new ModelFormatError(
        `row has ${row.length} values, the model ${this.featureNames.length} features`,
      );
    }
    const raw = this.baseScore + this.compiled().sumRow(row);
    if (this.task === 'classification') return sigmoid(raw);
    return this.linear ? raw + rawLinearRow(this.linear, row) : raw;
  }

  /** Built on first use: a model only stored or shipped never pays for it. */
  private compiled(): CompiledTrees {
    this.compiledTrees ??= new CompiledTrees(this.trees, this.featureNames.length);
    return this.compiledTrees;
  }

  predictBatch(data: Dataset, out?: Float64Array): Float64Array {
    assertSameFeatures(this.featureNames, data.featureNames);
    const n = data.nRows;
    const result = out ?? new Float64Array(n);
    if (result.length < n) throw new ModelFormatError(`out has ${result.length} slots for ${n} rows`);
    this.compiled().sumBatch(data.data, n, result);
    const base = this.baseScore;
    if (this.task === 'classification') for (let i = 0; i < n; i++) result[i] = sigmoid(base + result[i]!);
    else {
      for (let i = 0; i < n; i++) result[i]! += base;
      if (this.linear) {
        // Summed apart, then added, in predictRow's order: a row scores the same by either path.
        const lin = new Float64Array(n);
        addRawLinear(this.linear, data.data, n, lin);
        for (let i = 0; i < n; i++) result[i]! += lin[i]!;
      }
    }
    return result;
  }

  /** Features by share of total split gain, largest first. */
  featureImportance(): { feature: string; gain: number }[] {
    const share = normaliseImportance(this.gain);
    return this.featureNames
      .map((feature, i) => ({ feature, gain: share[i]! }))
      .sort((a, b) => b.gain - a.gain);
  }

  toJSON(): ModelArtifact {
    return {
      format: 'rainstream.model',
      formatVersion: this.linear ? GBDT_LINEAR_FORMAT_VERSION : GBDT_FORMAT_VERSION,
      family: this.family,
      task: this.task,
      featureNames: [...this.featureNames],
      params: { ...this.params },
      body: {
        baseScore: this.baseScore,
        ...(this.linear
          ? {
              linear: {
                intercept: this.linear.intercept,
                weights: Array.from(this.linear.weights),
                fill: Array.from(this.linear.fill),
              },
            }
          : {}),
        binEdges: edgesToJson(this.binEdges),
        trees: treesToJson(this.trees, this.binEdges),
        gain: Array.from(this.gain),
      },
    };
  }
}

export interface GbdtFitResult {
  readonly model: GbdtModel;
}

function trainGbdt(
  data: Dataset,
  target: Float64Array,
  task: Task,
  given: Partial<GbdtParams>,
  options: FitOptions,
): GbdtModel {
  const p = resolveParams(
    'gbdt',
    gbdtDefaults,
    task === 'regression' && given.threads === undefined ? { ...given, threads: 1 } : given,
    RULES,
  );
  checkTrainingData('gbdt', data, target, task);
  const nFeatures = data.featureNames.length;
  if (nFeatures > 256) throw new ModelParamsError(`gbdt: at most 256 features, got ${nFeatures}`);

  let train = data;
  let y = target;
  let validation: { data: Dataset; target: Float64Array } | null = null;
  if (p.earlyStoppingRounds > 0) {
    if (options.validation) {
      assertSameFeatures(data.featureNames, options.validation.data.featureNames);
      checkTrainingData('gbdt validation', options.validation.data, options.validation.target, task);
      validation = options.validation;
    } else if (p.validationFraction > 0) {
      const nVal = Math.floor(data.nRows * p.validationFraction);
      if (nVal >= 1 && data.nRows - nVal >= 2) {
        const cut = data.nRows - nVal;
        train = sliceRows(data, 0, cut);
        y = target.subarray(0, cut);
        validation = { data: sliceRows(data, cut, data.nRows), target: target.subarray(cut) };
      }
    }
  }

  const nRows = train.nRows;
  const edges = fitBinEdges(train, { maxBins: p.maxBins, sampleSize: 200_000, seed: options.seed });
  const colBins = binDataset(train, edges);
  const valueBins = Int32Array.from(edges, (e) => valueBinCount(e));
  const scale = packingScale(nRows * (task === 'classification' ? 0.25 : 1));
  const b: Booster = {
    p,
    nRows,
    nFeatures,
    arena: new HistArena(colBins, nRows, nFeatures, p.threads),
    edges,
    valueBins,
    scale,
    invScale: 1 / scale,
    gain: new Float64Array(nFeatures),
    carry: newCarry(task),
  };

  // The linear start holds the intercept itself, so the trees' base score is then 0.
  const linear = task === 'regression' && p.linearBase === 1 ? fitRawLinear(train, y, 1) : null;
  const base = linear ? 0 : baseScore(task, y);
  const scores: Scores = {
    task,
    values: new Float64Array(nRows).fill(task === 'classification' ? Math.exp(-base) : base),
  };
  if (linear) addRawLinear(linear, train.data, nRows, scores.values);
  const valRaw = validation ? new Float64Array(validation.data.nRows).fill(base) : null;
  if (linear && validation && valRaw)
    addRawLinear(linear, validation.data.data, validation.data.nRows, valRaw);
  const trees: FlatTrees[] = [];
  const gainAfter: Float64Array[] = [];
  const validationLoss: number[] = [];
  let bestLoss = Infinity;
  let bestTrees = 0;
  try {
    for (let it = 0; it < p.maxIterations; it++) {
      computeGradients(scores, y, b);
      const tree = growTree(b, scores);
      trees.push(tree);
      if (validation && valRaw) {
        addTreesBatch(tree, validation.data.data, validation.data.nRows, valRaw);
        const loss = meanLoss(task, valRaw, validation.target);
        validationLoss.push(loss);
        gainAfter.push(b.gain.slice());
        if (bestTrees === 0 || loss < bestLoss - 1e-7 * Math.abs(bestLoss)) {
          bestLoss = loss;
          bestTrees = trees.length;
        } else if (trees.length - bestTrees >= p.earlyStoppingRounds) break;
      }
    }
  } finally {
    b.arena.dispose();
  }
  const kept = validation ? Math.max(1, bestTrees) : trees.length;
  return new GbdtModel({
    task,
    featureNames: [...data.featureNames],
    params: p,
    trees: concatTrees(trees.slice(0, kept)),
    baseScore: base,
    linear,
    binEdges: edges,
    gain: validation ? gainAfter[kept - 1]! : b.gain,
    info: {
      iterationsRun: trees.length,
      treesKept: kept,
      validationLoss,
      trainRows: nRows,
      validationRows: validation ? validation.data.nRows : 0,
      sharedHistograms: b.arena.sharedBuilds,
      rootHistograms: b.arena.rangeBuilds,
      helperError: b.arena.helperError,
    },
  });
}

/** Rounds a warm start adds when `warm.trees` is not given. */
export const GBDT_WARM_TREES = 10;

/**
 * Warm start: `warm.trees` more boosting rounds fit to `data` (the rows the base has not learned from,
 * usually the recent weeks) on top of the base's margins, with the base's params, base score and bin
 * edges. Reusing the edges keeps every old threshold meaningful and the histograms comparable: a new
 * value outside the learned range falls in the outermost bin (below the first edge: bin 0; above the
 * last: the open last bin), exactly where the trees already send it at prediction time, since splits
 * test raw values against edges; NaN keeps its missing bin. New trees can therefore not split inside a
 * range the base never saw; the scheduled full refit learns new edges.
 */
function warmGbdt(base: Model, data: Dataset, target: Float64Array, options: WarmFitOptions): GbdtModel {
  if (!(base instanceof GbdtModel))
    throw new ModelParamsError(`gbdt warm start needs a gbdt base, got ${base.family}`);
  const warm = resolveParams('gbdt warm', { trees: GBDT_WARM_TREES }, options.warm ?? {}, {
    trees: { min: 0, max: 100_000, integer: true },
  });
  const task = base.task;
  checkTrainingData('gbdt', data, target, task);
  assertSameFeatures(base.featureNames, data.featureNames);
  const p = base.params;
  const nRows = data.nRows;
  const nFeatures = data.featureNames.length;
  const edges = base.binEdges;
  const scale = packingScale(nRows * (task === 'classification' ? 0.25 : 1));
  const b: Booster = {
    p,
    nRows,
    nFeatures,
    arena: new HistArena(binDataset(data, edges), nRows, nFeatures, Math.min(p.threads, 1)),
    edges,
    valueBins: Int32Array.from(edges, (e) => valueBinCount(e)),
    scale,
    invScale: 1 / scale,
    gain: new Float64Array(nFeatures),
    carry: newCarry(task),
  };
  // The base's raw margins on the new rows are where the new rounds start.
  const raw = new Float64Array(nRows);
  addTreesBatch(base.trees, data.data, nRows, raw);
  const values = new Float64Array(nRows);
  if (base.linear) addRawLinear(base.linear, data.data, nRows, raw);
  for (let i = 0; i < nRows; i++) {
    const z = base.baseScore + raw[i]!;
    values[i] = task === 'classification' ? Math.exp(-z) : z;
  }
  const scores: Scores = { task, values };
  const trees: FlatTrees[] = [base.trees];
  try {
    for (let it = 0; it < warm.trees; it++) {
      computeGradients(scores, target, b);
      trees.push(growTree(b, scores));
    }
  } finally {
    b.arena.dispose();
  }
  const gain = Float64Array.from(base.gain, (g, f) => g + b.gain[f]!);
  return new GbdtModel({
    task,
    featureNames: [...base.featureNames],
    params: p,
    trees: concatTrees(trees),
    baseScore: base.baseScore,
    linear: base.linear,
    binEdges: edges,
    gain,
    info: {
      iterationsRun: warm.trees,
      treesKept: base.nTrees + warm.trees,
      validationLoss: [],
      trainRows: nRows,
      validationRows: 0,
      sharedHistograms: b.arena.sharedBuilds,
      rootHistograms: b.arena.rangeBuilds,
      helperError: b.arena.helperError,
    },
  });
}

function linearFromJson(value: unknown, nFeatures: number): RawLinear {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ModelFormatError('gbdt body.linear is not an object');
  const lin = value as Record<string, unknown>;
  if (typeof lin.intercept !== 'number' || !Number.isFinite(lin.intercept))
    throw new ModelFormatError('gbdt body.linear.intercept is not a finite number');
  return {
    intercept: lin.intercept,
    weights: numberArray(lin, 'weights', nFeatures),
    fill: numberArray(lin, 'fill', nFeatures),
  };
}

function gbdtFromJson(artifact: ModelArtifact): GbdtModel {
  const version =
    checkArtifactTag(artifact).formatVersion === GBDT_LINEAR_FORMAT_VERSION
      ? GBDT_LINEAR_FORMAT_VERSION
      : GBDT_FORMAT_VERSION;
  const a = checkArtifact(artifact, 'gbdt', version);
  const names = a.featureNames;
  const body = bodyRecord(a);
  if (typeof body.baseScore !== 'number') throw new ModelFormatError('gbdt body lacks baseScore');
  const linear = version === GBDT_LINEAR_FORMAT_VERSION ? linearFromJson(body.linear, names.length) : null;
  if (linear && a.task !== 'regression') throw new ModelFormatError('gbdt classifier with a linear base');
  const binEdges = edgesFromJson(body.binEdges, names.length);
  const gain = decodeFloats(body.gain, 'gain');
  if (gain.length !== names.length)
    throw new ModelFormatError('gbdt body.gain must hold one value per feature');
  let params: GbdtParams;
  try {
    // An artifact from before linearBase existed was trained without one.
    const stored = { linearBase: 0, ...(a.params as Partial<GbdtParams>) };
    params = resolveParams('gbdt', gbdtDefaults, stored, RULES);
  } catch (err) {
    throw new ModelFormatError(`gbdt params: ${(err as Error).message}`);
  }
  return new GbdtModel({
    task: a.task,
    featureNames: [...names],
    params,
    trees: treesFromJson(body.trees, binEdges),
    baseScore: body.baseScore,
    linear,
    binEdges,
    gain,
    info: null,
  });
}

export const gbdtFamily: ModelFamily<GbdtParams> = {
  family: 'gbdt',
  defaults: gbdtDefaults,
  fit: trainGbdt,
  fitWarm: warmGbdt,
  fromJSON: gbdtFromJson,
};
