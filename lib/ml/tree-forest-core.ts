/**
 * One random-forest tree on binned data: bootstrap sample, then depth-first splits, each choosing among
 * a random subset of features. Pure given (data, params, seed, tree index), so the main thread and a
 * worker can grow any tree and the forest is the same whichever thread grew which tree.
 *
 * Classification (0/1 target) and regression share one criterion: with w the bootstrap multiplicity,
 * the Gini decrease of a binary split is 2 (SL^2/WL + SR^2/WR - S^2/W) with S = sum(w y), the same
 * expression as the squared-error decrease, and the leaf value S/W is the class frequency or the mean.
 */
import { BIN_STRIDE, MISSING_BIN, thresholdOfBin, valueBinCount } from './binning.ts';
import { TreeRecorder, type FlatTrees } from './tree.ts';
import { packingScale, unpackCount } from './tree-hist.ts';
import { Rng } from './tree-rng.ts';

export interface ForestTreeParams {
  readonly minSamplesLeaf: number;
  /** 0: no limit. */
  readonly maxDepth: number;
  /** Features tried per split (at least this many that are not constant in the node, when available). */
  readonly featuresPerSplit: number;
  /** Bootstrap sample size as a fraction of the rows. */
  readonly sampleFraction: number;
}

/** The binned training set every tree reads (shareable with a worker). */
export interface ForestData {
  readonly nRows: number;
  readonly nFeatures: number;
  /**
   * Row-major bins: rowBins[row * nFeatures + f]. Deep nodes visit scattered rows; row-major puts the
   * few candidate features of a row in one cache line instead of one line per feature.
   */
  readonly rowBins: Uint8Array;
  readonly target: Float64Array;
  /** Every target is 0 or 1 (a node of one class is pure and becomes a leaf). */
  readonly binary: boolean;
  readonly edges: readonly Float64Array[];
}

export interface GrownTree {
  readonly tree: FlatTrees;
  /** Criterion decrease per feature (for importances). */
  readonly gain: Float64Array;
}

/** Nodes below this many rows collect only the bins they touch instead of scanning all 256. */
const SMALL_NODE = 96;

/** Reusable per-thread buffers (allocation per node would dominate deep trees). */
export class ForestScratch {
  readonly idx: Int32Array;
  readonly spare: Int32Array;
  /**
   * Per row r: [2r] count scale + bootstrap multiplicity (0 when out of bag), [2r + 1] multiplicity x
   * target; side by side so a scattered row costs one cache miss.
   */
  readonly rowStats: Float64Array;
  readonly histA: Float64Array;
  readonly histB: Float64Array;
  readonly touched: Int32Array;
  readonly nTouched: Int32Array;
  readonly perm: Int32Array;
  readonly candidates: Int32Array;

  constructor(nRows: number, nFeatures: number) {
    this.idx = new Int32Array(nRows);
    this.spare = new Int32Array(nRows);
    this.rowStats = new Float64Array(2 * nRows);
    this.histA = new Float64Array(nFeatures * BIN_STRIDE);
    this.histB = new Float64Array(nFeatures * BIN_STRIDE);
    this.touched = new Int32Array(nFeatures * BIN_STRIDE);
    this.nTouched = new Int32Array(nFeatures);
    this.perm = new Int32Array(nFeatures);
    this.candidates = new Int32Array(nFeatures);
  }
}

interface NodeTask {
  start: number;
  end: number;
  count: number;
  weight: number;
  sum: number;
  depth: number;
  parentNode: number;
  isLeft: boolean;
}

interface Split {
  feature: number;
  bin: number;
  missingLeft: boolean;
  score: number;
  countLeft: number;
  weightLeft: number;
  sumLeft: number;
}

/** Grows tree `treeIndex` of a forest. */
export function growForestTree(
  data: ForestData,
  p: ForestTreeParams,
  seed: number,
  treeIndex: number,
  s: ForestScratch,
): GrownTree {
  const { nRows, nFeatures, rowBins, target } = data;
  const rng = new Rng(seed, treeIndex + 1);
  const scale = packingScale(nRows * Math.max(1, p.sampleFraction));
  const invScale = 1 / scale;
  const { rowStats, idx } = s;
  rowStats.fill(0);
  const draws = Math.max(1, Math.round(nRows * p.sampleFraction));
  for (let i = 0; i < draws; i++) rowStats[2 * rng.int(nRows)]! += 1;
  let inBag = 0;
  let rootWeight = 0;
  let rootSum = 0;
  for (let r = 0; r < nRows; r++) {
    const w = rowStats[2 * r]!;
    if (w === 0) continue;
    idx[inBag++] = r;
    const wy = w * target[r]!;
    rowStats[2 * r + 1] = wy;
    rootWeight += w;
    rootSum += wy;
    rowStats[2 * r] = scale + w;
  }
  for (let f = 0; f < nFeatures; f++) s.perm[f] = f;

  const rec = new TreeRecorder();
  const gain = new Float64Array(nFeatures);
  const stack: NodeTask[] = [
    {
      start: 0,
      end: inBag,
      count: inBag,
      weight: rootWeight,
      sum: rootSum,
      depth: 0,
      parentNode: -1,
      isLeft: true,
    },
  ];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const pure = data.binary && (node.sum === 0 || node.sum === node.weight);
    const split =
      node.count < 2 * p.minSamplesLeaf || pure || (p.maxDepth > 0 && node.depth >= p.maxDepth)
        ? null
        : findSplit(data, p, s, node, rng, scale, invScale);
    if (!split) {
      rec.setChild(node.parentNode, node.isLeft, rec.addLeaf(node.sum / node.weight));
      continue;
    }
    const id = rec.addNode(
      split.feature,
      thresholdOfBin(data.edges[split.feature]!, split.bin),
      split.missingLeft,
    );
    rec.setChild(node.parentNode, node.isLeft, id);
    gain[split.feature]! += split.score - (node.sum * node.sum) / node.weight;
    const mid = partition(rowBins, nFeatures, s, node, split);
    const depth = node.depth + 1;
    // Right pushed first so the left subtree is grown first (any order gives the same tree).
    stack.push({
      start: mid,
      end: node.end,
      count: node.count - split.countLeft,
      weight: node.weight - split.weightLeft,
      sum: node.sum - split.sumLeft,
      depth,
      parentNode: id,
      isLeft: false,
    });
    stack.push({
      start: node.start,
      end: mid,
      count: split.countLeft,
      weight: split.weightLeft,
      sum: split.sumLeft,
      depth,
      parentNode: id,
      isLeft: true,
    });
  }
  return { tree: rec.finish(), gain };
}

/**
 * Best split among random features. Like scikit-learn, features constant in the node do not count
 * towards featuresPerSplit: drawing continues until that many non-constant ones were evaluated.
 */
function findSplit(
  data: ForestData,
  p: ForestTreeParams,
  s: ForestScratch,
  node: NodeTask,
  rng: Rng,
  scale: number,
  invScale: number,
): Split | null {
  const { nFeatures } = data;
  const perm = s.perm;
  let drawn = 0;
  let evaluated = 0;
  let best: Split | null = null;
  // A split must beat the parent by a margin, or float noise would split pure regression nodes.
  let bestScore = (node.sum * node.sum) / node.weight + 1e-12 * Math.abs(node.weight);
  while (evaluated < p.featuresPerSplit && drawn < nFeatures) {
    const batch = Math.min(p.featuresPerSplit - evaluated, nFeatures - drawn);
    for (let j = 0; j < batch; j++) {
      const k = drawn + rng.int(nFeatures - drawn);
      const f = perm[k]!;
      perm[k] = perm[drawn]!;
      perm[drawn] = f;
      s.candidates[j] = f;
      drawn++;
    }
    const small = node.count < SMALL_NODE;
    buildHistograms(data, s, node, batch, small);
    for (let j = 0; j < batch; j++) {
      const f = s.candidates[j]!;
      const found = small
        ? scanTouched(data, p, s, node, j, f, bestScore, scale, invScale)
        : scanAll(data, p, s, node, j, f, bestScore, scale, invScale);
      if (found === NOT_CONSTANT_NO_SPLIT) evaluated++;
      else if (found !== CONSTANT) {
        evaluated++;
        best = found;
        bestScore = found.score;
      }
    }
    // Histograms are all zero between builds (small nodes clear the bins they touched).
    if (!small) {
      s.histA.fill(0, 0, batch * BIN_STRIDE);
      s.histB.fill(0, 0, batch * BIN_STRIDE);
    }
  }
  return best;
}

const CONSTANT = 0;
const NOT_CONSTANT_NO_SPLIT = 1;

/**
 * Histograms of the candidate features over the node's rows: row outer, features inner, so that runs of
 * rows in the same bin do not chain every add on the previous store to the same slot.
 */
function buildHistograms(
  data: ForestData,
  s: ForestScratch,
  node: NodeTask,
  batch: number,
  small: boolean,
): void {
  const { histA, histB, idx, rowStats, candidates, touched, nTouched } = s;
  const { rowBins, nFeatures } = data;
  if (small) {
    for (let j = 0; j < batch; j++) nTouched[j] = 0;
    for (let i = node.start; i < node.end; i++) {
      const r = idx[i]!;
      const a = rowStats[2 * r]!;
      const b = rowStats[2 * r + 1]!;
      const rowAt = r * nFeatures;
      for (let j = 0; j < batch; j++) {
        const bin = rowBins[rowAt + candidates[j]!]!;
        const k = j * BIN_STRIDE + bin;
        if (histA[k] === 0) touched[j * BIN_STRIDE + nTouched[j]!++] = bin;
        histA[k]! += a;
        histB[k]! += b;
      }
    }
    return;
  }
  for (let i = node.start; i < node.end; i++) {
    const r = idx[i]!;
    const a = rowStats[2 * r]!;
    const b = rowStats[2 * r + 1]!;
    const rowAt = r * nFeatures;
    for (let j = 0, o = 0; j < batch; j++, o += BIN_STRIDE) {
      const k = o + rowBins[rowAt + candidates[j]!]!;
      histA[k]! += a;
      histB[k]! += b;
    }
  }
}

/** Evaluates the cut after `bin` with the missing rows on either side; returns the better split or null. */
function evaluateCut(
  p: ForestTreeParams,
  node: NodeTask,
  f: number,
  bin: number,
  cl: number,
  wl: number,
  sl: number,
  missCount: number,
  missWeight: number,
  missSum: number,
  allowMissingRight: boolean,
  bestScore: number,
): Split | null {
  const minLeaf = p.minSamplesLeaf;
  let best: Split | null = null;
  if (allowMissingRight) {
    const cr = node.count - cl;
    if (cl >= minLeaf && cr >= minLeaf) {
      const wr = node.weight - wl;
      const sr = node.sum - sl;
      const score = (sl * sl) / wl + (sr * sr) / wr;
      if (score > bestScore) {
        best = {
          feature: f,
          bin,
          missingLeft: missCount === 0 && cl > cr,
          score,
          countLeft: cl,
          weightLeft: wl,
          sumLeft: sl,
        };
        bestScore = score;
      }
    }
  }
  if (missCount > 0) {
    const cl2 = cl + missCount;
    const cr2 = node.count - cl2;
    if (cl2 >= minLeaf && cr2 >= minLeaf) {
      const wl2 = wl + missWeight;
      const sl2 = sl + missSum;
      const wr2 = node.weight - wl2;
      const sr2 = node.sum - sl2;
      const score = (sl2 * sl2) / wl2 + (sr2 * sr2) / wr2;
      if (score > bestScore) {
        best = { feature: f, bin, missingLeft: true, score, countLeft: cl2, weightLeft: wl2, sumLeft: sl2 };
      }
    }
  }
  return best;
}

function scanAll(
  data: ForestData,
  p: ForestTreeParams,
  s: ForestScratch,
  node: NodeTask,
  j: number,
  f: number,
  bestScore: number,
  scale: number,
  invScale: number,
): Split | typeof CONSTANT | typeof NOT_CONSTANT_NO_SPLIT {
  const { histA, histB } = s;
  const o = j * BIN_STRIDE;
  const nb = valueBinCount(data.edges[f]!);
  const missPacked = histA[o + MISSING_BIN]!;
  const missCount = unpackCount(missPacked, invScale);
  const missWeight = missPacked - missCount * scale;
  const missSum = histB[o + MISSING_BIN]!;
  let occupied = missCount > 0 ? 1 : 0;
  let best: Split | null = null;
  let al = 0;
  let sl = 0;
  for (let bin = 0; bin < nb; bin++) {
    const a = histA[o + bin]!;
    if (a === 0) continue;
    occupied++;
    al += a;
    sl += histB[o + bin]!;
    const cl = unpackCount(al, invScale);
    if (cl === node.count - missCount && missCount === 0) break;
    const wl = al - cl * scale;
    const found = evaluateCut(p, node, f, bin, cl, wl, sl, missCount, missWeight, missSum, true, bestScore);
    if (found) {
      best = found;
      bestScore = found.score;
    }
  }
  if (occupied < 2) return CONSTANT;
  return best ?? NOT_CONSTANT_NO_SPLIT;
}

function scanTouched(
  data: ForestData,
  p: ForestTreeParams,
  s: ForestScratch,
  node: NodeTask,
  j: number,
  f: number,
  bestScore: number,
  scale: number,
  invScale: number,
): Split | typeof CONSTANT | typeof NOT_CONSTANT_NO_SPLIT {
  const { histA, histB, touched } = s;
  const o = j * BIN_STRIDE;
  const n = s.nTouched[j]!;
  // Insertion sort of the touched bins (few: at most the node's row count).
  for (let i = o + 1; i < o + n; i++) {
    const v = touched[i]!;
    let k = i - 1;
    while (k >= o && touched[k]! > v) {
      touched[k + 1] = touched[k]!;
      k--;
    }
    touched[k + 1] = v;
  }
  let missCount = 0;
  let missWeight = 0;
  let missSum = 0;
  let nValues = n;
  if (n > 0 && touched[o + n - 1] === MISSING_BIN) {
    const missPacked = histA[o + MISSING_BIN]!;
    missCount = unpackCount(missPacked, invScale);
    missWeight = missPacked - missCount * scale;
    missSum = histB[o + MISSING_BIN]!;
    nValues--;
  }
  let best: Split | null = null;
  let al = 0;
  let sl = 0;
  for (let t = 0; t < nValues; t++) {
    const bin = touched[o + t]!;
    al += histA[o + bin]!;
    sl += histB[o + bin]!;
    const cl = unpackCount(al, invScale);
    const wl = al - cl * scale;
    // The last present bin can only be cut (all present left) when missing rows exist to go right.
    const found = evaluateCut(
      p,
      node,
      f,
      bin,
      cl,
      wl,
      sl,
      missCount,
      missWeight,
      missSum,
      t < nValues - 1 || missCount > 0,
      bestScore,
    );
    if (found) {
      best = found;
      bestScore = found.score;
    }
  }
  for (let t = 0; t < n; t++) {
    const bin = touched[o + t]!;
    histA[o + bin] = 0;
    histB[o + bin] = 0;
  }
  if (n < 2) return CONSTANT;
  return best ?? NOT_CONSTANT_NO_SPLIT;
}

/** Stable partition of the node's rows by the split; returns the first right position. */
function partition(
  rowBins: Uint8Array,
  nFeatures: number,
  s: ForestScratch,
  node: NodeTask,
  split: Split,
): number {
  const { idx, spare } = s;
  const f = split.feature;
  const threshold = split.bin;
  const missingLeft = split.missingLeft;
  let l = node.start;
  let k = 0;
  for (let i = node.start; i < node.end; i++) {
    const r = idx[i]!;
    const bin = rowBins[r * nFeatures + f]!;
    if (bin === MISSING_BIN ? missingLeft : bin <= threshold) idx[l++] = r;
    else spare[k++] = r;
  }
  idx.set(spare.subarray(0, k), l);
  return l;
}
