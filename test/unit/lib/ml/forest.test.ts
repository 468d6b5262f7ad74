import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import { binDataset, fitBinEdges } from '../../../../lib/ml/binning.ts';
import {
  CONTROL_STATUS,
  forestFamily,
  type ForestModel,
  type ForestWorkerData,
  type ForestWorkerMessage,
} from '../../../../lib/ml/forest.ts';
import { ForestScratch, growForestTree, type ForestTreeParams } from '../../../../lib/ml/tree-forest-core.ts';
import { ModelFormatError, type Dataset, type ModelArtifact } from '../../../../lib/ml/model.ts';
import { Rng } from '../../../../lib/ml/tree-rng.ts';

function makeData(
  n: number,
  names: string[],
  seed: number,
  row: (rng: Rng) => { x: number[]; y: number },
): { data: Dataset; y: Float64Array } {
  const rng = new Rng(seed);
  const data = new Float64Array(n * names.length);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = row(rng);
    r.x.forEach((v, f) => (data[f * n + i] = v));
    y[i] = r.y;
  }
  return { data: { featureNames: names, nRows: n, data }, y };
}

function accuracy(p: Float64Array, y: Float64Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (p[i]! >= 0.5 === (y[i] === 1)) ok++;
  return ok / y.length;
}

const names = ['a', 'b', 'n1', 'n2'];
const xorRow = (rng: Rng) => {
  const a = rng.next() * 2 - 1;
  const b = rng.next() * 2 - 1;
  return { x: [a, b, rng.next(), rng.next()], y: a > 0 !== b > 0 ? 1 : 0 };
};
const single = { threads: 1 };

describe('forestFamily classification', () => {
  const train = makeData(2000, names, 1, xorRow);
  const test = makeData(1000, names, 2, xorRow);
  const model = forestFamily.fit(
    train.data,
    train.y,
    'classification',
    { ...single, nTrees: 30 },
    { seed: 1 },
  ) as ForestModel;

  it('learns XOR', () => {
    expect(accuracy(model.predictBatch(test.data), test.y)).toBeGreaterThan(0.95);
  });

  it('predicts the mean of leaf class frequencies, a probability', () => {
    const p = model.predictBatch(test.data);
    expect(Math.min(...p)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...p)).toBeLessThanOrEqual(1);
    expect(model.trees.leafValue.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('predictRow gives exactly predictBatch', () => {
    const p = model.predictBatch(test.data);
    for (let i = 0; i < 200; i++) {
      const row = names.map((_, f) => test.data.data[f * 1000 + i]!);
      expect(model.predictRow(row)).toBe(p[i]);
    }
  });

  it('learns a missing-value direction', () => {
    const row = (rng: Rng) => {
      const missing = rng.next() < 0.3;
      const x = rng.next();
      return { x: [missing ? NaN : x, rng.next()], y: missing || x > 0.5 ? 1 : 0 };
    };
    const tr = makeData(1500, ['x', 'noise'], 3, row);
    const m = forestFamily.fit(
      tr.data,
      tr.y,
      'classification',
      { ...single, nTrees: 20, maxFeatures: 2 },
      { seed: 1 },
    );
    expect(m.predictRow([NaN, 0.5])).toBeGreaterThan(0.9);
    expect(m.predictRow([0.2, 0.5])).toBeLessThan(0.1);
  });

  it('respects maxDepth and minSamplesLeaf', () => {
    const shallow = forestFamily.fit(
      train.data,
      train.y,
      'classification',
      { ...single, nTrees: 3, maxDepth: 1 },
      { seed: 1 },
    ) as ForestModel;
    expect(shallow.trees.leafValue.length).toBeLessThanOrEqual(6);
    // A leaf of at least 400 distinct rows out of ~1264 in bag: at most 3 leaves per tree.
    const coarse = forestFamily.fit(
      train.data,
      train.y,
      'classification',
      { ...single, nTrees: 3, minSamplesLeaf: 400 },
      { seed: 1 },
    ) as ForestModel;
    expect(coarse.trees.leafValue.length).toBeLessThanOrEqual(9);
    expect(coarse.trees.leafValue.length).toBeGreaterThan(3);
  });
});

describe('forestFamily regression', () => {
  it('reduces the squared error far below the mean predictor', () => {
    const row = (rng: Rng) => {
      const x = [rng.next() * 4, rng.next()];
      return { x, y: Math.sin(x[0]!) * 3 + (rng.next() - 0.5) * 0.2 };
    };
    const train = makeData(2000, ['a', 'noise'], 4, row);
    const test = makeData(500, ['a', 'noise'], 5, row);
    const m = forestFamily.fit(
      train.data,
      train.y,
      'regression',
      { ...single, nTrees: 20, maxFeatures: 2 },
      { seed: 1 },
    );
    const mean = train.y.reduce((a, b) => a + b, 0) / train.y.length;
    const p = m.predictBatch(test.data);
    let err = 0;
    let base = 0;
    for (let i = 0; i < p.length; i++) {
      err += (p[i]! - test.y[i]!) ** 2;
      base += (mean - test.y[i]!) ** 2;
    }
    expect(err / base).toBeLessThan(0.02);
  });
});

describe('forestFamily determinism, threads and artifacts', () => {
  const train = makeData(1500, names, 6, xorRow);
  const test = makeData(300, names, 7, xorRow);
  const model = forestFamily.fit(
    train.data,
    train.y,
    'classification',
    { ...single, nTrees: 12 },
    { seed: 5 },
  );

  it('gives the same forest for the same seed, and another for another seed', () => {
    const again = forestFamily.fit(
      train.data,
      train.y,
      'classification',
      { ...single, nTrees: 12 },
      { seed: 5 },
    );
    const other = forestFamily.fit(
      train.data,
      train.y,
      'classification',
      { ...single, nTrees: 12 },
      { seed: 6 },
    );
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(model.toJSON()));
    expect(JSON.stringify(other.toJSON())).not.toBe(JSON.stringify(model.toJSON()));
  });

  it('gives the same forest whether a worker thread helps or not', () => {
    const threaded = forestFamily.fit(
      train.data,
      train.y,
      'classification',
      { nTrees: 12, threads: 2 },
      { seed: 5 },
    );
    expect((threaded as ForestModel).info!.workerError).toBeNull();
    expect(JSON.stringify(threaded.toJSON().body)).toBe(JSON.stringify(model.toJSON().body));
  });

  it('runs forest-worker.ts in a worker thread, growing the same trees as the calling thread', async () => {
    const edges = fitBinEdges(train.data);
    const colBins = binDataset(train.data, edges);
    const rowBins = new Uint8Array(colBins.length);
    for (let f = 0; f < names.length; f++) {
      for (let r = 0; r < train.data.nRows; r++)
        rowBins[r * names.length + f] = colBins[f * train.data.nRows + r]!;
    }
    const shared = (a: Uint8Array | Float64Array) => {
      const buf = new SharedArrayBuffer(a.byteLength);
      new Uint8Array(buf).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return buf;
    };
    const params: ForestTreeParams = {
      minSamplesLeaf: 2,
      maxDepth: 0,
      featuresPerSplit: 2,
      sampleFraction: 1,
    };
    const control = new Int32Array(new SharedArrayBuffer(16));
    const { port1, port2 } = new MessageChannel();
    const workerData: ForestWorkerData = {
      nRows: train.data.nRows,
      nFeatures: names.length,
      rowBins: shared(rowBins),
      target: shared(train.y),
      binary: true,
      edges,
      params,
      seed: 9,
      nTrees: 4,
      control: control.buffer as SharedArrayBuffer,
      port: port2,
    };
    const messages: ForestWorkerMessage[] = [];
    port1.on('message', (m: ForestWorkerMessage) => messages.push(m));
    const worker = new Worker(new URL('../../../../lib/ml/forest-worker.ts', import.meta.url), {
      workerData,
      transferList: [port2],
    });
    await new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
    await new Promise((resolve) => setImmediate(resolve));
    port1.close();
    expect(Atomics.load(control, CONTROL_STATUS)).toBe(1);
    expect(messages.map((m) => ('treeIndex' in m ? m.treeIndex : m.error))).toEqual([0, 1, 2, 3]);
    const scratch = new ForestScratch(train.data.nRows, names.length);
    const data = {
      nRows: train.data.nRows,
      nFeatures: names.length,
      rowBins,
      target: train.y,
      binary: true,
      edges,
    };
    for (const m of messages) {
      if (!('treeIndex' in m)) continue;
      const local = growForestTree(data, params, 9, m.treeIndex, scratch);
      expect(m.tree).toEqual(local.tree);
    }
  });

  it('round-trips through JSON text with identical predictions', () => {
    const loaded = forestFamily.fromJSON(JSON.parse(JSON.stringify(model.toJSON())) as ModelArtifact);
    expect(loaded.predictBatch(test.data)).toEqual(model.predictBatch(test.data));
  });

  it('rejects a wrong format, family, version or feature list', () => {
    const artifact = model.toJSON();
    const bad = (patch: Record<string, unknown>) => ({ ...artifact, ...patch }) as unknown as ModelArtifact;
    expect(() => forestFamily.fromJSON(bad({ format: 'x' }))).toThrow(ModelFormatError);
    expect(() => forestFamily.fromJSON(bad({ family: 'gbdt' }))).toThrow(ModelFormatError);
    expect(() => forestFamily.fromJSON(bad({ formatVersion: 2 }))).toThrow(ModelFormatError);
    expect(() => forestFamily.fromJSON(bad({ featureNames: ['a'] }))).toThrow(ModelFormatError);
    expect(() => model.predictBatch({ ...test.data, featureNames: ['b', 'a', 'n1', 'n2'] })).toThrow(
      ModelFormatError,
    );
  });

  it('rejects bad params with ModelParamsError', () => {
    expect(() => forestFamily.fit(train.data, train.y, 'classification', { nTrees: 0 }, { seed: 1 })).toThrow(
      ModelParamsError,
    );
    expect(() =>
      forestFamily.fit(train.data, train.y, 'classification', { threads: 3 }, { seed: 1 }),
    ).toThrow(ModelParamsError);
  });
});
