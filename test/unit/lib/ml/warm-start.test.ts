import { describe, expect, it } from 'vitest';
import { climatologyFamily } from '../../../../lib/ml/climatology.ts';
import { forestFamily, type ForestModel } from '../../../../lib/ml/forest.ts';
import { gbdtFamily, type GbdtModel } from '../../../../lib/ml/gbdt.ts';
import { logregFamily } from '../../../../lib/ml/linear.ts';
import { loadModel } from '../../../../lib/ml/families.ts';
import { runTrainJob } from '../../../../lib/ml/train-worker.ts';
import { encodeArtifactValue } from '../../../../lib/ml/artifact-codec.ts';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import type { Dataset } from '../../../../lib/ml/model.ts';
import { Rng } from '../../../../lib/ml/tree-rng.ts';

const NAMES = ['a', 'b', 'c'];

/** y depends on a and b; `shift` moves the decision boundary, so later data differs from earlier data. */
function makeData(n: number, seed: number, shift = 0, noise = 1): { data: Dataset; y: Float64Array } {
  const rng = new Rng(seed);
  const data = new Float64Array(n * NAMES.length);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.next() * 2 - 1;
    const b = rng.next() * 2 - 1;
    const c = rng.next() < 0.1 ? NaN : rng.next();
    data[i] = a;
    data[n + i] = b;
    data[2 * n + i] = c;
    const z = 3 * a - 2 * b + shift + noise * (rng.next() - 0.5);
    y[i] = z > 0 ? 1 : 0;
  }
  return { data: { featureNames: NAMES, nRows: n, data }, y };
}

function logLoss(p: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - 1e-9, Math.max(1e-9, p[i]!));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

describe('gbdt warm start', () => {
  const old = makeData(3000, 1);
  const recent = makeData(1500, 2, 1.5);
  const test = makeData(2000, 3, 1.5);
  const base = gbdtFamily.fit(
    old.data,
    old.y,
    'classification',
    { maxIterations: 40, earlyStoppingRounds: 0 },
    { seed: 1 },
  ) as GbdtModel;

  it('adds trees fit to the new rows on top of the base, keeping its bins and base score', () => {
    const warm = gbdtFamily.fitWarm!(base, recent.data, recent.y, {
      seed: 1,
      warm: { trees: 15 },
    }) as GbdtModel;
    expect(warm.nTrees).toBe(base.nTrees + 15);
    expect(warm.binEdges).toBe(base.binEdges);
    expect(warm.baseScore).toBe(base.baseScore);
    // The base's trees come first, unchanged.
    expect(Array.from(warm.trees.threshold.subarray(0, base.trees.threshold.length))).toEqual(
      Array.from(base.trees.threshold),
    );
    // On data like the new rows, the continued model is better than the base.
    expect(logLoss(warm.predictBatch(test.data), test.y)).toBeLessThan(
      logLoss(base.predictBatch(test.data), test.y),
    );
  });

  it('with no rounds to add predicts exactly as the base', () => {
    const same = gbdtFamily.fitWarm!(base, recent.data, recent.y, { seed: 1, warm: { trees: 0 } });
    expect(Array.from(same.predictBatch(test.data))).toEqual(Array.from(base.predictBatch(test.data)));
  });

  it('bins values outside the learned range into the outermost bins, where the trees already send them', () => {
    const far = makeData(800, 4, 1.5);
    // Every value of a and b pushed far beyond the base's range.
    const scaled = Float64Array.from(far.data.data, (v, i) => (i < 2 * far.data.nRows ? v * 100 : v));
    const data = { ...far.data, data: scaled };
    const warm = gbdtFamily.fitWarm!(base, data, far.y, { seed: 1, warm: { trees: 5 } }) as GbdtModel;
    const lastEdgeA = base.binEdges[0]![base.binEdges[0]!.length - 1]!;
    // No new threshold can lie outside the base's edges: splits are only at learned edges (or +Infinity).
    for (let i = base.trees.feature.length; i < warm.trees.feature.length; i++) {
      const t = warm.trees.threshold[i]!;
      if (warm.trees.feature[i] === 0) expect(t <= lastEdgeA || t === Infinity).toBe(true);
    }
    // A value above every edge gets the same prediction as the largest value seen in training.
    const row = (a: number) => [a, 0, 0.5];
    expect(warm.predictRow(row(1e9))).toBe(warm.predictRow(row(lastEdgeA + 1e-9)));
    expect(Number.isFinite(warm.predictRow([NaN, NaN, NaN]))).toBe(true);
  });

  it('round-trips through the artifact and refuses a base of another family', () => {
    const warm = gbdtFamily.fitWarm!(base, recent.data, recent.y, { seed: 1, warm: { trees: 3 } });
    const loaded = loadModel(warm.toJSON(), NAMES);
    expect(Array.from(loaded.predictBatch(test.data))).toEqual(Array.from(warm.predictBatch(test.data)));
    const logreg = logregFamily.fit(old.data, old.y, 'classification', {}, { seed: 1 });
    expect(() => gbdtFamily.fitWarm!(logreg, recent.data, recent.y, { seed: 1 })).toThrow(ModelParamsError);
    expect(() => gbdtFamily.fitWarm!(base, recent.data, recent.y, { seed: 1, warm: { rounds: 3 } })).toThrow(
      /unknown parameter rounds/,
    );
  });
});

describe('logreg warm start', () => {
  it('updates from the new rows alone to about what a refit on all rows gives', () => {
    const first = makeData(4000, 5, 0, 8);
    const second = makeData(2000, 6, 0.8, 8);
    const all = {
      data: {
        featureNames: NAMES,
        nRows: 6000,
        data: new Float64Array(6000 * 3),
      },
      y: new Float64Array(6000),
    };
    for (let f = 0; f < 3; f++) {
      all.data.data.set(first.data.data.subarray(f * 4000, (f + 1) * 4000), f * 6000);
      all.data.data.set(second.data.data.subarray(f * 2000, (f + 1) * 2000), f * 6000 + 4000);
    }
    all.y.set(first.y);
    all.y.set(second.y, 4000);
    const base = logregFamily.fit(first.data, first.y, 'classification', {}, { seed: 1 });
    const warm = logregFamily.fitWarm!(base, second.data, second.y, { seed: 1 });
    const refit = logregFamily.fit(all.data, all.y, 'classification', {}, { seed: 1 });
    const test = makeData(1000, 7, 0.8, 8);
    const pw = warm.predictBatch(test.data);
    const pr = refit.predictBatch(test.data);
    const pb = base.predictBatch(test.data);
    let maxDiff = 0;
    let baseDiff = 0;
    for (let i = 0; i < pw.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(pw[i]! - pr[i]!));
      baseDiff = Math.max(baseDiff, Math.abs(pb[i]! - pr[i]!));
    }
    // Standardization differs slightly (the base's is kept), the quadratic approximation is close: far
    // closer to the refit than the base is.
    expect(maxDiff).toBeLessThan(0.01);
    expect(maxDiff).toBeLessThan(baseDiff / 5);
    expect(logLoss(pw, test.y)).toBeLessThan(logLoss(pb, test.y));
    // The precision travels in the artifact, so a warm start also works from a stored model.
    const again = logregFamily.fitWarm!(loadModel(warm.toJSON(), NAMES), second.data, second.y, { seed: 1 });
    expect(again.predictRow([0.1, 0.2, 0.3])).toBeGreaterThan(0);
  });

  it('refuses a base stored without a precision matrix', () => {
    const d = makeData(500, 8);
    const artifact = logregFamily.fit(d.data, d.y, 'classification', {}, { seed: 1 }).toJSON();
    const { precision: _dropped, ...body } = artifact.body as Record<string, unknown>;
    const old = loadModel({ ...artifact, body }, NAMES);
    expect(() => logregFamily.fitWarm!(old, d.data, d.y, { seed: 1 })).toThrow(/precision/);
  });
});

describe('forest warm start', () => {
  it('replaces the oldest trees with trees grown on the new rows and keeps its size', () => {
    const old = makeData(2000, 9);
    const recent = makeData(1000, 10, 1.5);
    const base = forestFamily.fit(
      old.data,
      old.y,
      'classification',
      { nTrees: 8, threads: 1, minSamplesLeaf: 5 },
      { seed: 1 },
    ) as ForestModel;
    const warm = forestFamily.fitWarm!(base, recent.data, recent.y, {
      seed: 2,
      warm: { replace: 3 },
    }) as ForestModel;
    expect(warm.nTrees).toBe(8);
    expect(warm.binEdges).toBe(base.binEdges);
    // Trees 3..7 of the base are trees 0..4 of the warm forest: same predictions of the kept part.
    const kept = forestFamily.fitWarm!(base, recent.data, recent.y, { seed: 2, warm: { replace: 0 } });
    const test = makeData(500, 11, 1.5);
    expect(Array.from(kept.predictBatch(test.data))).toEqual(Array.from(base.predictBatch(test.data)));
    expect(logLoss(warm.predictBatch(test.data), test.y)).toBeLessThan(
      logLoss(base.predictBatch(test.data), test.y),
    );
    const loaded = loadModel(warm.toJSON(), NAMES);
    expect(Array.from(loaded.predictBatch(test.data))).toEqual(Array.from(warm.predictBatch(test.data)));
  });
});

describe('climatology warm start', () => {
  it('adds the new rows counts: the same model as a refit on all rows', () => {
    const names = ['locationCode', 'month'];
    const rows = (n: number, stations: number, seed: number) => {
      const rng = new Rng(seed);
      const data = new Float64Array(2 * n);
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        data[i] = Math.floor(rng.next() * stations);
        data[n + i] = 1 + Math.floor(rng.next() * 12);
        y[i] = rng.next() < 0.3 ? 1 : 0;
      }
      return { data: { featureNames: names, nRows: n, data }, y };
    };
    const a = rows(500, 3, 1);
    const b = rows(300, 5, 2);
    const all = rows(0, 1, 3);
    const data = new Float64Array(1600);
    data.set(a.data.data.subarray(0, 500), 0);
    data.set(b.data.data.subarray(0, 300), 500);
    data.set(a.data.data.subarray(500), 800);
    data.set(b.data.data.subarray(300), 1300);
    const y = new Float64Array(800);
    y.set(a.y);
    y.set(b.y, 500);
    void all;
    const base = climatologyFamily.fit(a.data, a.y, 'classification', {}, { seed: 1 });
    const warm = climatologyFamily.fitWarm!(base, b.data, b.y, { seed: 1 });
    const refit = climatologyFamily.fit(
      { featureNames: names, nRows: 800, data },
      y,
      'classification',
      {},
      { seed: 1 },
    );
    expect(warm.toJSON().body).toEqual(refit.toJSON().body);
  });
});

describe('runTrainJob with a warm base', () => {
  it('continues the base shipped as binary and says it was a warm fit on the new rows', () => {
    const old = makeData(2000, 12);
    const recent = makeData(600, 13, 1);
    const base = gbdtFamily.fit(
      old.data,
      old.y,
      'classification',
      { maxIterations: 20, earlyStoppingRounds: 0 },
      { seed: 1 },
    ) as GbdtModel;
    const outcome = runTrainJob({
      family: 'gbdt',
      task: 'classification',
      params: {},
      seed: 1,
      train: { data: recent.data, target: recent.y },
      validation: { data: recent.data, target: recent.y },
      warm: { base: encodeArtifactValue(base.toJSON()), settings: { trees: 4 } },
      encode: true,
    });
    expect(outcome.mode).toBe('warm');
    expect(outcome.fitRows).toBe(600);
    expect(outcome.encoded!.length).toBeGreaterThan(0);
    expect(outcome.encoded!.length).toBeLessThan(JSON.stringify(outcome.artifact).length);
    expect((loadModel(outcome.artifact, NAMES) as GbdtModel).nTrees).toBe(24);
    expect(() =>
      runTrainJob({
        family: 'forest',
        task: 'classification',
        params: {},
        seed: 1,
        train: { data: recent.data, target: recent.y },
        warm: { base: encodeArtifactValue(base.toJSON()) },
      }),
    ).toThrow(/warm start of forest from a gbdt artifact/);
  });
});
