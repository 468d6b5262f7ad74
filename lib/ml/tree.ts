/**
 * Flat, typed-array form shared by every tree ensemble (GBDT and forest). Internal nodes of all trees
 * live in parallel arrays; a child reference is either an internal node index (>= 0) or the bitwise
 * complement of a leaf index (< 0), so the walk is one tight loop with no objects. Thresholds are raw
 * feature values (x <= threshold goes left), so prediction needs no binning.
 */
import { ModelFormatError } from './model.ts';
import { createMemory, WALK_WIDTH, walkKernel, WASM_PAGE, type WalkKernel } from './tree-wasm.ts';

export interface FlatTrees {
  /** Per tree: its root reference (an internal node, or ~leaf for a single-leaf tree). */
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  /** 1 when a missing value (NaN) goes to the left child. */
  readonly missingLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly leafValue: Float64Array;
}

/** Growable single-tree recorder used by the learners while a tree is grown. */
export class TreeRecorder {
  private nNodes = 0;
  private nLeaves = 0;
  private feature = new Int32Array(16);
  private threshold = new Float64Array(16);
  private missingLeft = new Uint8Array(16);
  private left = new Int32Array(16);
  private right = new Int32Array(16);
  private leafValue = new Float64Array(16);
  private root = -1;

  /** Adds an internal node; its children are set later with setChild. Returns its index. */
  addNode(feature: number, threshold: number, missingLeft: boolean): number {
    if (this.nNodes === this.feature.length) this.growNodes();
    const i = this.nNodes++;
    this.feature[i] = feature;
    this.threshold[i] = threshold;
    this.missingLeft[i] = missingLeft ? 1 : 0;
    this.left[i] = -1;
    this.right[i] = -1;
    return i;
  }

  /** Adds a leaf and returns its reference (~leafIndex). */
  addLeaf(value: number): number {
    if (this.nLeaves === this.leafValue.length) {
      const grown = new Float64Array(this.leafValue.length * 2);
      grown.set(this.leafValue);
      this.leafValue = grown;
    }
    this.leafValue[this.nLeaves] = value;
    return ~this.nLeaves++;
  }

  /** Points the given side of a node (or the tree root when node is -1) at a child reference. */
  setChild(node: number, isLeft: boolean, child: number): void {
    if (node < 0) this.root = child;
    else if (isLeft) this.left[node] = child;
    else this.right[node] = child;
  }

  setLeafValue(leafRef: number, value: number): void {
    this.leafValue[~leafRef] = value;
  }

  finish(): FlatTrees {
    return {
      roots: Int32Array.of(this.root),
      feature: this.feature.slice(0, this.nNodes),
      threshold: this.threshold.slice(0, this.nNodes),
      missingLeft: this.missingLeft.slice(0, this.nNodes),
      left: this.left.slice(0, this.nNodes),
      right: this.right.slice(0, this.nNodes),
      leafValue: this.leafValue.slice(0, this.nLeaves),
    };
  }

  private growNodes(): void {
    const cap = this.feature.length * 2;
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.feature = grow(this.feature, (n) => new Int32Array(n));
    this.threshold = grow(this.threshold, (n) => new Float64Array(n));
    this.missingLeft = grow(this.missingLeft, (n) => new Uint8Array(n));
    this.left = grow(this.left, (n) => new Int32Array(n));
    this.right = grow(this.right, (n) => new Int32Array(n));
  }
}

/** Joins trees (each with its own local indices) into one ensemble, in the given order. */
export function concatTrees(parts: readonly FlatTrees[]): FlatTrees {
  let nTrees = 0;
  let nNodes = 0;
  let nLeaves = 0;
  for (const p of parts) {
    nTrees += p.roots.length;
    nNodes += p.feature.length;
    nLeaves += p.leafValue.length;
  }
  const out = {
    roots: new Int32Array(nTrees),
    feature: new Int32Array(nNodes),
    threshold: new Float64Array(nNodes),
    missingLeft: new Uint8Array(nNodes),
    left: new Int32Array(nNodes),
    right: new Int32Array(nNodes),
    leafValue: new Float64Array(nLeaves),
  };
  let t = 0;
  let nodeOff = 0;
  let leafOff = 0;
  const shift = (ref: number) => (ref >= 0 ? ref + nodeOff : ~(~ref + leafOff));
  for (const p of parts) {
    for (let k = 0; k < p.roots.length; k++) out.roots[t++] = shift(p.roots[k]!);
    for (let i = 0; i < p.feature.length; i++) {
      out.left[nodeOff + i] = shift(p.left[i]!);
      out.right[nodeOff + i] = shift(p.right[i]!);
    }
    out.feature.set(p.feature, nodeOff);
    out.threshold.set(p.threshold, nodeOff);
    out.missingLeft.set(p.missingLeft, nodeOff);
    out.leafValue.set(p.leafValue, leafOff);
    nodeOff += p.feature.length;
    leafOff += p.leafValue.length;
  }
  return out;
}

/** The first n trees of an ensemble built tree after tree (nodes and leaves of tree k follow tree k-1). */
export function firstTrees(trees: FlatTrees, n: number): FlatTrees {
  if (n >= trees.roots.length) return trees;
  // Node and leaf counts of the kept prefix: everything referenced before the first dropped tree.
  let nNodes = 0;
  let nLeaves = 0;
  const visit = (ref: number): void => {
    if (ref < 0) nLeaves = Math.max(nLeaves, ~ref + 1);
    else {
      nNodes = Math.max(nNodes, ref + 1);
      visit(trees.left[ref]!);
      visit(trees.right[ref]!);
    }
  };
  for (let k = 0; k < n; k++) visit(trees.roots[k]!);
  return {
    roots: trees.roots.slice(0, n),
    feature: trees.feature.slice(0, nNodes),
    threshold: trees.threshold.slice(0, nNodes),
    missingLeft: trees.missingLeft.slice(0, nNodes),
    left: trees.left.slice(0, nNodes),
    right: trees.right.slice(0, nNodes),
    leafValue: trees.leafValue.slice(0, nLeaves),
  };
}

/**
 * Trees [from, roots.length) of an ensemble, as a compact ensemble of their own (nodes and leaves
 * renumbered in walk order; works whatever the layout of the input, e.g. a loaded artifact).
 */
export function dropFirstTrees(trees: FlatTrees, from: number): FlatTrees {
  const parts: FlatTrees[] = [];
  for (let k = Math.max(0, from); k < trees.roots.length; k++) parts.push(singleTree(trees, trees.roots[k]!));
  return concatTrees(parts);
}

function singleTree(trees: FlatTrees, root: number): FlatTrees {
  const rec = new TreeRecorder();
  // Iterative walk: (reference, parent node, is-left) triples.
  const stack: [number, number, boolean][] = [[root, -1, true]];
  while (stack.length > 0) {
    const [ref, parent, isLeft] = stack.pop()!;
    if (ref < 0) {
      rec.setChild(parent, isLeft, rec.addLeaf(trees.leafValue[~ref]!));
      continue;
    }
    const node = rec.addNode(trees.feature[ref]!, trees.threshold[ref]!, trees.missingLeft[ref] === 1);
    rec.setChild(parent, isLeft, node);
    stack.push([trees.right[ref]!, node, false], [trees.left[ref]!, node, true]);
  }
  return rec.finish();
}

/** Depth (internal nodes on the longest path) below a reference. */
function depthOf(trees: FlatTrees, ref: number): number {
  let depth = 0;
  const stack: number[] = [ref, 0];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const r = stack.pop()!;
    if (r < 0) depth = Math.max(depth, d);
    else stack.push(trees.left[r]!, d + 1, trees.right[r]!, d + 1);
  }
  return depth;
}

const NODE_BYTES = 24;

/**
 * An ensemble laid out for the WebAssembly walk kernel (see tree-wasm.ts). The row is first copied to
 * 2 x nFeatures slots: slot f holds x with NaN replaced by -Infinity, slot nFeatures + f by +Infinity.
 * A node whose missing values go left reads the first copy, one sending them right the second, so a
 * single `x > threshold` decides every case (an open last bin, threshold +Infinity, becomes
 * Number.MAX_VALUE, and a present +Infinity is clamped to it so that it still goes left). Trees are walked in groups of equal depth (sorted), so few
 * steps are wasted on finished trees.
 */
export class CompiledTrees {
  readonly nFeatures: number;
  readonly nTrees: number;
  private readonly kernel: WalkKernel;
  private readonly x: Float64Array;
  private readonly xPtr: number;
  private readonly groupsPtr: number;
  private readonly nGroups: number;

  constructor(trees: FlatTrees, nFeatures: number) {
    this.nFeatures = nFeatures;
    this.nTrees = trees.roots.length;
    const nInternal = trees.feature.length;
    const nLeaves = trees.leafValue.length;
    // One extra leaf of value 0 pads the last group.
    const nNodes = nInternal + nLeaves + 1;
    const order = Array.from(trees.roots, (root, k) => ({ root, depth: depthOf(trees, root), k }));
    order.sort((a, b) => a.depth - b.depth || a.k - b.k);
    this.nGroups = Math.ceil(order.length / WALK_WIDTH);
    const groupBytes = 4 * WALK_WIDTH + 4;
    this.xPtr = 64;
    this.groupsPtr = this.xPtr + 16 * nFeatures;
    const nodesPtr = this.groupsPtr + Math.ceil((this.nGroups * groupBytes) / 8) * 8;
    const bytes = nodesPtr + nNodes * NODE_BYTES;
    const memory = createMemory(Math.ceil(bytes / WASM_PAGE), false);
    this.kernel = walkKernel(memory);
    const view = new DataView(memory.buffer);
    const addr = (ref: number) => nodesPtr + (ref >= 0 ? ref : nInternal + ~ref) * NODE_BYTES;
    for (let i = 0; i < nInternal; i++) {
      const at = nodesPtr + i * NODE_BYTES;
      // +Infinity marks "every present value left"; a NaN mapped to +Infinity must still go right.
      const t = trees.threshold[i]!;
      view.setFloat64(at, t === Infinity ? Number.MAX_VALUE : t, true);
      view.setInt32(at + 8, 8 * (trees.feature[i]! + (trees.missingLeft[i] ? 0 : nFeatures)), true);
      view.setInt32(at + 12, addr(trees.left[i]!), true);
      view.setInt32(at + 16, addr(trees.right[i]!), true);
    }
    for (let j = 0; j <= nLeaves; j++) {
      const at = nodesPtr + (nInternal + j) * NODE_BYTES;
      view.setFloat64(at, j < nLeaves ? trees.leafValue[j]! : 0, true);
      view.setInt32(at + 8, 0, true);
      view.setInt32(at + 12, at, true);
      view.setInt32(at + 16, at, true);
    }
    const padLeaf = nodesPtr + (nInternal + nLeaves) * NODE_BYTES;
    for (let g = 0; g < this.nGroups; g++) {
      const at = this.groupsPtr + g * groupBytes;
      let steps = 0;
      for (let k = 0; k < WALK_WIDTH; k++) {
        const tree = order[g * WALK_WIDTH + k];
        view.setInt32(at + 4 * k, tree ? addr(tree.root) : padLeaf, true);
        if (tree) steps = Math.max(steps, tree.depth);
      }
      view.setInt32(at + 4 * WALK_WIDTH, steps, true);
    }
    this.x = new Float64Array(memory.buffer, this.xPtr, 2 * nFeatures);
  }

  /** Sum over the trees of the leaf value the row reaches. */
  sumRow(row: ArrayLike<number>): number {
    const x = this.x;
    const n = this.nFeatures;
    for (let f = 0; f < n; f++) {
      const v = row[f]!;
      if (v === v) {
        const clamped = v > Number.MAX_VALUE ? Number.MAX_VALUE : v;
        x[f] = clamped;
        x[n + f] = clamped;
      } else {
        x[f] = -Infinity;
        x[n + f] = Infinity;
      }
    }
    return this.kernel.walkTrees(this.groupsPtr, this.nGroups, this.xPtr);
  }

  /** out[r] = sum for row r of column-major data (same arithmetic as sumRow, so the same results). */
  sumBatch(data: Float32Array | Float64Array, nRows: number, out: Float64Array): void {
    const x = this.x;
    const n = this.nFeatures;
    for (let r = 0; r < nRows; r++) {
      for (let f = 0; f < n; f++) {
        const v = data[f * nRows + r]!;
        if (v === v) {
          const clamped = v > Number.MAX_VALUE ? Number.MAX_VALUE : v;
          x[f] = clamped;
          x[n + f] = clamped;
        } else {
          x[f] = -Infinity;
          x[n + f] = Infinity;
        }
      }
      out[r] = this.kernel.walkTrees(this.groupsPtr, this.nGroups, this.xPtr);
    }
  }
}

/** Sum of the leaf values the row reaches, over all trees: the plain walk (reference and small models). */
export function sumTreesRow(trees: FlatTrees, row: ArrayLike<number>): number {
  const { roots, feature, threshold, missingLeft, left, right, leafValue } = trees;
  let sum = 0;
  for (let k = 0; k < roots.length; k++) {
    let node = roots[k]!;
    while (node >= 0) {
      const x = row[feature[node]!]!;
      if (x <= threshold[node]!) node = left[node]!;
      else if (x === x || missingLeft[node] === 0) node = right[node]!;
      else node = left[node]!;
    }
    sum += leafValue[~node]!;
  }
  return sum;
}

/**
 * Adds each row's tree sum to out[row], for column-major data. Tree by tree over blocks of rows, so one
 * tree's nodes stay in cache while the block walks it.
 */
export function addTreesBatch(
  trees: FlatTrees,
  data: Float32Array | Float64Array,
  nRows: number,
  out: Float64Array,
): void {
  const { roots, feature, threshold, missingLeft, left, right, leafValue } = trees;
  const block = 1024;
  for (let start = 0; start < nRows; start += block) {
    const end = Math.min(nRows, start + block);
    for (let k = 0; k < roots.length; k++) {
      const root = roots[k]!;
      for (let r = start; r < end; r++) {
        let node = root;
        while (node >= 0) {
          const x = data[feature[node]! * nRows + r]!;
          if (x <= threshold[node]!) node = left[node]!;
          else if (x === x || missingLeft[node] === 0) node = right[node]!;
          else node = left[node]!;
        }
        out[r]! += leafValue[~node]!;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON. A node's threshold is always one of its feature's bin edges (or +Infinity past the last), so
// the artifact stores the bin index (a small integer) with the edges once, instead of a float per
// node: about half the size, and thresholds come back bit-exact. Non-finite floats (edges from data
// holding +-Infinity) are written as strings because JSON has no Infinity.

export type JsonFloat = number | 'Infinity' | '-Infinity' | 'NaN';

export interface FlatTreesJson {
  roots: number[];
  feature: number[];
  /** Split "bin <= b": threshold = edges[feature][b], or +Infinity for b = edges.length. */
  bin: number[];
  missingLeft: number[];
  left: number[];
  right: number[];
  leafValue: JsonFloat[];
}

export function encodeFloats(a: ArrayLike<number>): JsonFloat[] {
  const out: JsonFloat[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    out[i] = Number.isFinite(v) ? v : (String(v) as JsonFloat);
  }
  return out;
}

export function decodeFloats(a: unknown, what: string): Float64Array {
  if (!Array.isArray(a)) throw new ModelFormatError(`${what} must be an array`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as unknown;
    if (typeof v === 'number') out[i] = v;
    else if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') out[i] = Number(v);
    else throw new ModelFormatError(`${what}[${i}] is not a number`);
  }
  return out;
}

export function decodeInts(a: unknown, what: string): Int32Array {
  if (!Array.isArray(a)) throw new ModelFormatError(`${what} must be an array`);
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 0x7fffffff) {
      throw new ModelFormatError(`${what}[${i}] is not a 32-bit integer`);
    }
    out[i] = v;
  }
  return out;
}

/** Bin edges as JSON, one array per feature. */
export function edgesToJson(edges: readonly Float64Array[]): JsonFloat[][] {
  return edges.map((e) => encodeFloats(e));
}

/** Bin edges from JSON: one strictly increasing array per feature. */
export function edgesFromJson(a: unknown, nFeatures: number): Float64Array[] {
  if (!Array.isArray(a) || a.length !== nFeatures) {
    throw new ModelFormatError(`binEdges must hold one array per feature (${nFeatures})`);
  }
  return a.map((e, f) => {
    const edges = decodeFloats(e, `binEdges[${f}]`);
    for (let i = 1; i < edges.length; i++) {
      if (!(edges[i]! > edges[i - 1]!)) throw new ModelFormatError(`binEdges[${f}] is not increasing`);
    }
    if (edges.length > 254) throw new ModelFormatError(`binEdges[${f}] has more than 254 edges`);
    return edges;
  });
}

/** Encodes trees whose thresholds are bin edges of `edges` (as the learners make them). */
export function treesToJson(t: FlatTrees, edges: readonly Float64Array[]): FlatTreesJson {
  const bin = new Array<number>(t.feature.length);
  for (let i = 0; i < t.feature.length; i++) {
    const e = edges[t.feature[i]!]!;
    const threshold = t.threshold[i]!;
    const b = threshold === Infinity ? e.length : e.indexOf(threshold);
    if (b < 0) throw new RangeError(`node ${i}: threshold ${threshold} is not a bin edge of its feature`);
    bin[i] = b;
  }
  return {
    roots: Array.from(t.roots),
    feature: Array.from(t.feature),
    bin,
    missingLeft: Array.from(t.missingLeft),
    left: Array.from(t.left),
    right: Array.from(t.right),
    leafValue: encodeFloats(t.leafValue),
  };
}

/**
 * Decodes and validates trees. Every child must point forward (child node index > parent index) or to
 * an existing leaf, so a walk always ends: a corrupt artifact fails here, not in an endless loop.
 */
export function treesFromJson(body: unknown, edges: readonly Float64Array[]): FlatTrees {
  if (typeof body !== 'object' || body === null) throw new ModelFormatError('trees must be an object');
  const nFeatures = edges.length;
  const b = body as Record<string, unknown>;
  const roots = decodeInts(b.roots, 'trees.roots');
  const feature = decodeInts(b.feature, 'trees.feature');
  const bin = decodeInts(b.bin, 'trees.bin');
  const missing = decodeInts(b.missingLeft, 'trees.missingLeft');
  const left = decodeInts(b.left, 'trees.left');
  const right = decodeInts(b.right, 'trees.right');
  const leafValue = decodeFloats(b.leafValue, 'trees.leafValue');
  const nNodes = feature.length;
  const nLeaves = leafValue.length;
  if ([bin, missing, left, right].some((a) => a.length !== nNodes)) {
    throw new ModelFormatError('tree node arrays differ in length');
  }
  const validRef = (ref: number, after: number) => (ref < 0 ? ~ref < nLeaves : ref > after && ref < nNodes);
  for (let k = 0; k < roots.length; k++) {
    if (!validRef(roots[k]!, -1)) throw new ModelFormatError(`tree ${k} has an invalid root`);
  }
  const missingLeft = new Uint8Array(nNodes);
  const threshold = new Float64Array(nNodes);
  for (let i = 0; i < nNodes; i++) {
    const f = feature[i]!;
    if (f < 0 || f >= nFeatures) throw new ModelFormatError(`node ${i}: feature out of range`);
    if (!validRef(left[i]!, i) || !validRef(right[i]!, i))
      throw new ModelFormatError(`node ${i}: invalid child`);
    if (missing[i] !== 0 && missing[i] !== 1)
      throw new ModelFormatError(`node ${i}: missingLeft must be 0 or 1`);
    const e = edges[f]!;
    if (bin[i]! < 0 || bin[i]! > e.length) throw new ModelFormatError(`node ${i}: bin out of range`);
    threshold[i] = bin[i]! < e.length ? e[bin[i]!]! : Infinity;
    missingLeft[i] = missing[i]!;
  }
  return { roots, feature, threshold, missingLeft, left, right, leafValue };
}

/** Per-feature totals of split gain, normalised to sum to 1 (all zero when no split was made). */
export function normaliseImportance(gain: Float64Array): Float64Array {
  let total = 0;
  for (let i = 0; i < gain.length; i++) total += gain[i]!;
  const out = new Float64Array(gain.length);
  if (total > 0) for (let i = 0; i < gain.length; i++) out[i] = gain[i]! / total;
  return out;
}
