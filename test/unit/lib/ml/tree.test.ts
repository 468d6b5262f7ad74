import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../../../lib/ml/model.ts';
import {
  addTreesBatch,
  CompiledTrees,
  concatTrees,
  firstTrees,
  sumTreesRow,
  TreeRecorder,
  treesFromJson,
  treesToJson,
  type FlatTrees,
} from '../../../../lib/ml/tree.ts';
import { Rng } from '../../../../lib/ml/tree-rng.ts';

/** x0 <= 1 (missing left) ? (x1 <= 5 (missing right) ? 10 : 20) : 30 */
function handTree(): FlatTrees {
  const rec = new TreeRecorder();
  const root = rec.addNode(0, 1, true);
  rec.setChild(-1, true, root);
  const inner = rec.addNode(1, 5, false);
  rec.setChild(root, true, inner);
  rec.setChild(inner, true, rec.addLeaf(10));
  rec.setChild(inner, false, rec.addLeaf(20));
  rec.setChild(root, false, rec.addLeaf(30));
  return rec.finish();
}

/** A random tree of up to `nodes` internal nodes over nFeatures, with NaN directions and open last bins. */
function randomTree(rng: Rng, nFeatures: number, nodes: number): FlatTrees {
  const rec = new TreeRecorder();
  const open: { node: number; left: boolean }[] = [{ node: -1, left: true }];
  let made = 0;
  while (open.length > 0) {
    const slot = open.splice(rng.int(open.length), 1)[0]!;
    if (made < nodes && rng.next() < 0.8) {
      const threshold = rng.next() < 0.05 ? Infinity : rng.next() * 2 - 1;
      const id = rec.addNode(rng.int(nFeatures), threshold, rng.next() < 0.5);
      made++;
      rec.setChild(slot.node, slot.left, id);
      open.push({ node: id, left: true }, { node: id, left: false });
    } else rec.setChild(slot.node, slot.left, rec.addLeaf(rng.next() - 0.5));
  }
  return rec.finish();
}

function randomRow(rng: Rng, nFeatures: number): Float64Array {
  return Float64Array.from({ length: nFeatures }, () => (rng.next() < 0.2 ? NaN : rng.next() * 2 - 1));
}

describe('flat trees', () => {
  it('walks thresholds (x <= t left) and each node’s missing direction', () => {
    const t = handTree();
    expect(sumTreesRow(t, [1, 5])).toBe(10);
    expect(sumTreesRow(t, [1, 5.01])).toBe(20);
    expect(sumTreesRow(t, [1.01, 0])).toBe(30);
    expect(sumTreesRow(t, [NaN, 0])).toBe(10);
    expect(sumTreesRow(t, [0, NaN])).toBe(20);
  });

  it('concatenates trees (offsetting nodes and leaves) and keeps a prefix', () => {
    const rng = new Rng(1);
    const parts = [handTree(), randomTree(rng, 2, 5), handTree()];
    const all = concatTrees(parts);
    expect(all.roots.length).toBe(3);
    for (let i = 0; i < 50; i++) {
      const row = randomRow(rng, 2);
      const expected = parts.reduce((s, p) => s + sumTreesRow(p, row), 0);
      expect(sumTreesRow(all, row)).toBeCloseTo(expected, 12);
      expect(sumTreesRow(firstTrees(all, 2), row)).toBeCloseTo(
        sumTreesRow(concatTrees(parts.slice(0, 2)), row),
        12,
      );
    }
  });

  it('adds tree sums to a column-major batch like the row walk', () => {
    const rng = new Rng(2);
    const trees = concatTrees(Array.from({ length: 7 }, () => randomTree(rng, 3, 12)));
    const rows = Array.from({ length: 40 }, () => randomRow(rng, 3));
    const data = new Float64Array(3 * 40);
    rows.forEach((r, i) => r.forEach((v, f) => (data[f * 40 + i] = v)));
    const out = new Float64Array(40).fill(1);
    addTreesBatch(trees, data, 40, out);
    rows.forEach((r, i) => expect(out[i]).toBeCloseTo(1 + sumTreesRow(trees, r), 12));
  });
});

describe('CompiledTrees (wasm walk)', () => {
  it('gives the plain walk’s sums, with missing values, open last bins and single-leaf trees', () => {
    const rng = new Rng(3);
    const nFeatures = 5;
    const parts: FlatTrees[] = [];
    for (let k = 0; k < 21; k++)
      parts.push(k % 5 === 0 ? randomTree(rng, nFeatures, 0) : randomTree(rng, nFeatures, 1 + rng.int(40)));
    parts.push(handTree());
    const trees = concatTrees(parts);
    const compiled = new CompiledTrees(trees, nFeatures);
    const rows = Array.from({ length: 300 }, () => randomRow(rng, nFeatures));
    rows.push(
      Float64Array.of(NaN, NaN, NaN, NaN, NaN),
      Float64Array.of(Infinity, -Infinity, 1e308, -1e308, 0),
    );
    for (const row of rows) expect(compiled.sumRow(row)).toBeCloseTo(sumTreesRow(trees, row), 12);
    const data = new Float64Array(nFeatures * rows.length);
    rows.forEach((r, i) => r.forEach((v, f) => (data[f * rows.length + i] = v)));
    const out = new Float64Array(rows.length);
    compiled.sumBatch(data, rows.length, out);
    rows.forEach((r, i) => expect(out[i]).toBe(compiled.sumRow(r)));
  });
});

describe('tree JSON', () => {
  const edges = [Float64Array.of(-0.5, 0, 1), Float64Array.of(0.25, 5)];
  const openLastBin = (() => {
    const rec = new TreeRecorder();
    const n = rec.addNode(1, Infinity, false);
    rec.setChild(-1, true, n);
    rec.setChild(n, true, rec.addLeaf(1));
    rec.setChild(n, false, rec.addLeaf(2));
    return rec.finish();
  })();
  const trees = concatTrees([handTree(), openLastBin, handTree()]);

  it('stores bin indices and rebuilds the exact thresholds, +Infinity included, through JSON text', () => {
    const json = treesToJson(trees, edges);
    expect(json.bin).toEqual([2, 1, 2, 2, 1]);
    const back = treesFromJson(JSON.parse(JSON.stringify(json)), edges);
    expect(back).toEqual(trees);
    for (const row of [
      [0, NaN],
      [0, 1e300],
      [NaN, 3],
      [1.5, 0],
    ]) {
      expect(sumTreesRow(back, row)).toBe(sumTreesRow(trees, row));
    }
  });

  it('refuses to encode a threshold that is not a bin edge', () => {
    expect(() => treesToJson(handTree(), [Float64Array.of(2), Float64Array.of(5)])).toThrow(RangeError);
  });

  it('rejects corrupt trees: backward child (a cycle), missing leaf, feature or bin out of range', () => {
    const json = treesToJson(trees, edges);
    const bad = (patch: Record<string, unknown>) => () => treesFromJson({ ...json, ...patch }, edges);
    expect(bad({ left: json.left.map((c, i) => (i === 1 ? 0 : c)) })).toThrow(ModelFormatError);
    expect(bad({ right: json.right.map(() => ~9999) })).toThrow(ModelFormatError);
    expect(bad({ feature: json.feature.map(() => 2) })).toThrow(ModelFormatError);
    expect(bad({ bin: json.bin.map(() => 3) })).toThrow(ModelFormatError);
    expect(bad({ bin: json.bin.slice(1) })).toThrow(ModelFormatError);
    expect(bad({ leafValue: ['x'] })).toThrow(ModelFormatError);
    expect(bad({ roots: [json.left.length] })).toThrow(ModelFormatError);
  });
});
