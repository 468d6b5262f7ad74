import { describe, expect, it } from 'vitest';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import { gbdtFamily, type GbdtModel } from '../../../../lib/ml/gbdt.ts';
import { ModelFormatError, type Dataset, type ModelArtifact } from '../../../../lib/ml/model.ts';
import { claim, HistArena } from '../../../../lib/ml/tree-arena.ts';
import { Rng } from '../../../../lib/ml/tree-rng.ts';

/** Column-major data set from a row generator. */
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

function mse(p: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i]! - y[i]!) ** 2;
  return s / y.length;
}

const xorRow = (rng: Rng) => {
  const a = rng.next() * 2 - 1;
  const b = rng.next() * 2 - 1;
  const noise = rng.next() * 2 - 1;
  return { x: [a, b, noise], y: a > 0 !== b > 0 ? 1 : 0 };
};
const noEarlyStop = { earlyStoppingRounds: 0 };

describe('gbdtFamily classification', () => {
  const train = makeData(3000, ['a', 'b', 'noise'], 1, xorRow);
  const test = makeData(1000, ['a', 'b', 'noise'], 2, xorRow);
  const model = gbdtFamily.fit(
    train.data,
    train.y,
    'classification',
    { ...noEarlyStop, maxIterations: 60 },
    { seed: 1 },
  );

  it('learns XOR, which no single split separates', () => {
    expect(accuracy(model.predictBatch(test.data), test.y)).toBeGreaterThan(0.97);
  });

  it('outputs probabilities', () => {
    const p = model.predictBatch(test.data);
    expect(Math.min(...p)).toBeGreaterThan(0);
    expect(Math.max(...p)).toBeLessThan(1);
  });

  it('predictRow gives exactly predictBatch, row by row', () => {
    const p = model.predictBatch(test.data);
    const n = test.data.nRows;
    for (let i = 0; i < 200; i++) {
      const row = [0, 1, 2].map((f) => test.data.data[f * n + i]!);
      expect(model.predictRow(row)).toBe(p[i]);
    }
  });

  it('learns a threshold on one feature among noise', () => {
    const row = (rng: Rng) => {
      const x = [rng.next(), rng.next(), rng.next()];
      return { x, y: x[1]! > 0.3 ? 1 : 0 };
    };
    const tr = makeData(2000, ['n1', 'signal', 'n2'], 3, row);
    const te = makeData(1000, ['n1', 'signal', 'n2'], 4, row);
    const m = gbdtFamily.fit(
      tr.data,
      tr.y,
      'classification',
      { ...noEarlyStop, maxIterations: 20 },
      { seed: 1 },
    );
    expect(accuracy(m.predictBatch(te.data), te.y)).toBeGreaterThan(0.99);
    expect((m as GbdtModel).featureImportance()[0]!.feature).toBe('signal');
  });

  it('learns where missing values go: their own direction at each split', () => {
    // Missing x means rain; present x separates at 0.5: missing must go to the "high" side here...
    const right = (rng: Rng) => {
      const missing = rng.next() < 0.3;
      const x = rng.next();
      return { x: [missing ? NaN : x], y: missing || x > 0.5 ? 1 : 0 };
    };
    // ...and to the "low" side there.
    const left = (rng: Rng) => {
      const missing = rng.next() < 0.3;
      const x = rng.next();
      return { x: [missing ? NaN : x], y: !missing && x > 0.5 ? 1 : 0 };
    };
    for (const [row, expected] of [
      [right, 1],
      [left, 0],
    ] as const) {
      const tr = makeData(2000, ['x'], 5, row);
      const m = gbdtFamily.fit(
        tr.data,
        tr.y,
        'classification',
        { ...noEarlyStop, maxIterations: 30 },
        { seed: 1 },
      );
      expect(Math.round(m.predictRow([NaN]))).toBe(expected);
      expect(Math.round(m.predictRow([0.9]))).toBe(1);
      expect(Math.round(m.predictRow([0.1]))).toBe(0);
      // A single stump already puts the missing rows on the right side.
      const stump = gbdtFamily.fit(
        tr.data,
        tr.y,
        'classification',
        { ...noEarlyStop, maxIterations: 1, maxLeaves: 2 },
        { seed: 1 },
      );
      expect(stump.predictRow([NaN])).toBe(stump.predictRow([expected === 1 ? 0.9 : 0.1]));
      expect(stump.predictRow([0.9])).toBeGreaterThan(stump.predictRow([0.1]));
    }
  });

  it('sends missing values to the larger side when training saw none', () => {
    const row = (rng: Rng) => {
      const x = rng.next();
      return { x: [x], y: x > 0.8 ? 1 : 0 };
    };
    const tr = makeData(2000, ['x'], 6, row);
    const m = gbdtFamily.fit(
      tr.data,
      tr.y,
      'classification',
      { ...noEarlyStop, maxIterations: 10 },
      { seed: 1 },
    );
    expect(m.predictRow([NaN])).toBeCloseTo(m.predictRow([0.1]), 12);
  });
});

describe('gbdtFamily early stopping', () => {
  // Pure noise: validation loss stops improving after a few rounds.
  const noise = (rng: Rng) => ({ x: [rng.next(), rng.next()], y: rng.next() < 0.3 ? 1 : 0 });
  const train = makeData(2000, ['a', 'b'], 7, noise);
  const valid = makeData(1000, ['a', 'b'], 8, noise);

  it('stops on options.validation and keeps the best round', () => {
    const m = gbdtFamily.fit(
      train.data,
      train.y,
      'classification',
      { maxIterations: 500, earlyStoppingRounds: 5 },
      { seed: 1, validation: { data: valid.data, target: valid.y } },
    ) as GbdtModel;
    expect(m.info!.iterationsRun).toBeLessThan(100);
    expect(m.info!.treesKept).toBe(m.info!.iterationsRun - 5);
    expect(m.nTrees).toBe(m.info!.treesKept);
    expect(m.info!.validationRows).toBe(1000);
  });

  it('holds out the tail of the rows when no validation is given', () => {
    const m = gbdtFamily.fit(
      train.data,
      train.y,
      'classification',
      { maxIterations: 500, earlyStoppingRounds: 5, validationFraction: 0.2 },
      { seed: 1 },
    ) as GbdtModel;
    expect(m.info!.trainRows).toBe(1600);
    expect(m.info!.validationRows).toBe(400);
    expect(m.info!.iterationsRun).toBeLessThan(100);
  });

  it('runs every round when early stopping is off', () => {
    const m = gbdtFamily.fit(
      train.data,
      train.y,
      'classification',
      { maxIterations: 40, earlyStoppingRounds: 0 },
      { seed: 1 },
    );
    expect((m as GbdtModel).nTrees).toBe(40);
  });
});

describe('gbdtFamily regression', () => {
  const row = (rng: Rng) => {
    const x = [rng.next() * 4, rng.next() < 0.1 ? NaN : rng.next() * 4];
    return { x, y: Math.sin(x[0]!) * 3 + (Number.isNaN(x[1]) ? 2 : x[1]!) + (rng.next() - 0.5) * 0.2 };
  };
  const train = makeData(3000, ['a', 'b'], 9, row);
  const test = makeData(1000, ['a', 'b'], 10, row);

  it('reduces the squared error far below the mean predictor', () => {
    const m = gbdtFamily.fit(
      train.data,
      train.y,
      'regression',
      { ...noEarlyStop, maxIterations: 150 },
      { seed: 1 },
    );
    const mean = train.y.reduce((a, b) => a + b, 0) / train.y.length;
    const baseline = mse(new Float64Array(test.y.length).fill(mean), test.y);
    const err = mse(m.predictBatch(test.data), test.y);
    expect(err).toBeLessThan(baseline / 20);
    expect(err).toBeLessThan(0.05);
  });

  it('carries the root histogram between rounds: the model of a root rebuilt every round, one root built', () => {
    const params = { ...noEarlyStop, maxIterations: 20, threads: 1 };
    const carried = gbdtFamily.fit(train.data, train.y, 'regression', params, { seed: 1 }) as GbdtModel;
    expect(carried.info!.rootHistograms).toBe(1);
    // One round, then one warm round at a time: each builds its root from the rows' gradients.
    let rebuilt = gbdtFamily.fit(
      train.data,
      train.y,
      'regression',
      { ...params, maxIterations: 1 },
      { seed: 1 },
    ) as GbdtModel;
    for (let i = 1; i < 20; i++) {
      rebuilt = gbdtFamily.fitWarm!(rebuilt, train.data, train.y, {
        seed: 1,
        warm: { trees: 1 },
      }) as GbdtModel;
      expect(rebuilt.info!.rootHistograms).toBe(1);
    }
    expect(rebuilt.nTrees).toBe(20);
    const a = carried.predictBatch(test.data);
    const b = rebuilt.predictBatch(test.data);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-9);
    // Logloss gradients are not linear in the score: its roots are built every round.
    const classes = Float64Array.from(train.y, (y) => (y > 3 ? 1 : 0));
    const classifier = gbdtFamily.fit(train.data, classes, 'classification', params, {
      seed: 1,
    }) as GbdtModel;
    expect(classifier.info!.rootHistograms).toBe(20);
  });

  it("runs on one thread unless told (only the children's histograms are left to share), classification on two", () => {
    const params = { ...noEarlyStop, maxIterations: 2 };
    const paramsOf = (task: 'regression' | 'classification', extra = {}) =>
      gbdtFamily
        .fit(
          train.data,
          task === 'regression' ? train.y : Float64Array.from(train.y, (y) => (y > 3 ? 1 : 0)),
          task,
          {
            ...params,
            ...extra,
          },
          { seed: 1 },
        )
        .toJSON().params;
    expect(paramsOf('regression')).toMatchObject({ threads: 1 });
    expect(paramsOf('regression', { threads: 2 })).toMatchObject({ threads: 2 });
    expect(paramsOf('classification')).toMatchObject({ threads: 2 });
  });
});

describe('gbdtFamily regression from a linear base', () => {
  // A linear trend plus a bump: trees need many rounds for the trend, a ridge fit takes it at once.
  const row = (rng: Rng) => {
    const x = [rng.next() * 10, rng.next() < 0.1 ? NaN : rng.next() * 10, rng.next()];
    const b = Number.isNaN(x[1]) ? 5 : x[1]!;
    return { x, y: 2 * x[0]! - 1.5 * b + (x[2]! > 0.5 ? 3 : 0) + (rng.next() - 0.5) * 0.2 };
  };
  const train = makeData(3000, ['a', 'b', 'c'], 21, row);
  const test = makeData(1000, ['a', 'b', 'c'], 22, row);
  const params = { ...noEarlyStop, maxIterations: 30 };
  const linear = gbdtFamily.fit(train.data, train.y, 'regression', params, { seed: 1 }) as GbdtModel;
  const fromMean = gbdtFamily.fit(
    train.data,
    train.y,
    'regression',
    { ...params, linearBase: 0 },
    { seed: 1 },
  ) as GbdtModel;

  it('starts from a ridge fit by default and beats the start from the mean at the same rounds', () => {
    expect(linear.linear).not.toBeNull();
    expect(fromMean.linear).toBeNull();
    const errLinear = mse(linear.predictBatch(test.data), test.y);
    expect(errLinear).toBeLessThan(mse(fromMean.predictBatch(test.data), test.y) / 2);
    expect(errLinear).toBeLessThan(0.05);
  });

  it('predictRow gives exactly predictBatch, missing values included', () => {
    const batch = linear.predictBatch(test.data);
    for (let r = 0; r < 200; r++) {
      const x = [0, 1, 2].map((f) => test.data.data[f * test.data.nRows + r]!);
      expect(linear.predictRow(x)).toBe(batch[r]);
    }
  });

  it('stores the base as format version 2 and round-trips it; without one the artifact stays version 1', () => {
    const artifact = linear.toJSON();
    expect(artifact.formatVersion).toBe(2);
    expect((artifact.body as { linear?: unknown }).linear).toBeDefined();
    const loaded = gbdtFamily.fromJSON(JSON.parse(JSON.stringify(artifact)) as ModelArtifact);
    expect(loaded.predictBatch(test.data)).toEqual(linear.predictBatch(test.data));
    expect(loaded.predictRow([1, NaN, 0.7])).toBe(linear.predictRow([1, NaN, 0.7]));
    expect(fromMean.toJSON().formatVersion).toBe(1);
    const xor = makeData(500, ['a', 'b', 'noise'], 23, xorRow);
    const classifier = gbdtFamily.fit(xor.data, xor.y, 'classification', params, { seed: 1 });
    expect(classifier.toJSON().formatVersion).toBe(1);
    expect((classifier.toJSON().body as { linear?: unknown }).linear).toBeUndefined();
  });

  it('rejects a version 2 artifact without its base, and reads an older artifact as trained without one', () => {
    const artifact = linear.toJSON();
    const body = { ...(artifact.body as Record<string, unknown>) };
    delete body.linear;
    expect(() => gbdtFamily.fromJSON({ ...artifact, body })).toThrow(ModelFormatError);
    const old = fromMean.toJSON();
    const oldParams = { ...old.params };
    delete oldParams.linearBase;
    const loaded = gbdtFamily.fromJSON({ ...old, params: oldParams }) as GbdtModel;
    expect(loaded.params.linearBase).toBe(0);
    expect(loaded.predictBatch(test.data)).toEqual(fromMean.predictBatch(test.data));
  });

  it('a warm start keeps the base: no added rounds predict as before', () => {
    const warm = gbdtFamily.fitWarm!(linear, test.data, test.y, { seed: 1, warm: { trees: 0 } });
    expect(warm.predictBatch(train.data)).toEqual(linear.predictBatch(train.data));
  });
});

describe('gbdtFamily structure limits', () => {
  const train = makeData(2000, ['a', 'b', 'noise'], 11, xorRow);
  const leavesPerTree = (m: GbdtModel) => m.trees.leafValue.length / m.nTrees;

  it('respects maxLeaves, maxDepth and minSamplesLeaf', () => {
    const byLeaves = gbdtFamily.fit(
      train.data,
      train.y,
      'classification',
      { ...noEarlyStop, maxIterations: 5, maxLeaves: 4 },
      { seed: 1 },
    ) as GbdtModel;
    expect(leavesPerTree(byLeaves)).toBeLessThanOrEqual(4);
    const byDepth = gbdtFamily.fit(
      train.data,
      train.y,
      'classification',
      { ...noEarlyStop, maxIterations: 5, maxLeaves: 1000, maxDepth: 2 },
      { seed: 1 },
    ) as GbdtModel;
    expect(leavesPerTree(byDepth)).toBeLessThanOrEqual(4);
    const bigLeaves = gbdtFamily.fit(
      train.data,
      train.y,
      'classification',
      { ...noEarlyStop, maxIterations: 5, minSamplesLeaf: 1000 },
      { seed: 1 },
    ) as GbdtModel;
    expect(leavesPerTree(bigLeaves)).toBeLessThanOrEqual(2);
  });
});

describe('gbdtFamily determinism and artifacts', () => {
  const train = makeData(1500, ['a', 'b', 'noise'], 12, xorRow);
  const test = makeData(300, ['a', 'b', 'noise'], 13, xorRow);
  const params = { maxIterations: 30, earlyStoppingRounds: 5 };
  const model = gbdtFamily.fit(train.data, train.y, 'classification', params, { seed: 3 });

  it('gives the same model for the same data, params and seed', () => {
    const again = gbdtFamily.fit(train.data, train.y, 'classification', params, { seed: 3 });
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(model.toJSON()));
  });

  it('round-trips through JSON text with identical predictions', () => {
    const artifact = model.toJSON();
    expect(artifact.format).toBe('rainstream.model');
    expect(artifact.family).toBe('gbdt');
    expect(artifact.featureNames).toEqual(['a', 'b', 'noise']);
    const loaded = gbdtFamily.fromJSON(JSON.parse(JSON.stringify(artifact)) as ModelArtifact);
    expect(loaded.predictBatch(test.data)).toEqual(model.predictBatch(test.data));
    expect(loaded.predictRow([0.3, -0.2, 0])).toBe(model.predictRow([0.3, -0.2, 0]));
  });

  it('rejects a wrong format, family, version or body with ModelFormatError', () => {
    const artifact = model.toJSON();
    const bad = (patch: Record<string, unknown>) => ({ ...artifact, ...patch }) as unknown as ModelArtifact;
    expect(() => gbdtFamily.fromJSON(bad({ format: 'other' }))).toThrow(ModelFormatError);
    expect(() => gbdtFamily.fromJSON(bad({ family: 'forest' }))).toThrow(ModelFormatError);
    expect(() => gbdtFamily.fromJSON(bad({ formatVersion: 99 }))).toThrow(ModelFormatError);
    expect(() =>
      gbdtFamily.fromJSON(bad({ body: { ...(artifact.body as object), baseScore: 'x' } })),
    ).toThrow(ModelFormatError);
    expect(() => gbdtFamily.fromJSON(bad({ featureNames: ['a', 'b'] }))).toThrow(ModelFormatError);
  });

  it('rejects data with another feature list', () => {
    const renamed = { ...test.data, featureNames: ['a', 'noise', 'b'] };
    expect(() => model.predictBatch(renamed)).toThrow(ModelFormatError);
    expect(() => model.predictRow([1, 2])).toThrow(ModelFormatError);
  });

  it('rejects unknown or out-of-range params and bad targets with ModelParamsError', () => {
    const fit = (params: Record<string, unknown>, y = train.y) =>
      gbdtFamily.fit(train.data, y, 'classification', params, { seed: 1 });
    expect(() => fit({ learningRate: 0 })).toThrow(ModelParamsError);
    expect(() => fit({ maxLeaves: 1.5 })).toThrow(ModelParamsError);
    expect(() => fit({ leaves: 31 })).toThrow(ModelParamsError);
    expect(() =>
      fit(
        {},
        train.y.map((v) => v * 2),
      ),
    ).toThrow(ModelParamsError);
  });
});

describe('HistArena with a helper thread', () => {
  it('claims each command once, and never one older than the last claimed (a helper back from a stale read)', () => {
    const control = new Int32Array(new SharedArrayBuffer(64));
    expect(claim(control, 5)).toBe(true);
    expect(claim(control, 5)).toBe(false);
    // The caller built command 5's upper half, then claimed 6; the helper, descheduled since it read 5,
    // must not take 5 back (it would build 6's histogram beside the caller, every row added twice).
    expect(claim(control, 6)).toBe(true);
    expect(claim(control, 5)).toBe(false);
    expect(claim(control, 7)).toBe(true);
  });

  it('builds the same histograms as one thread, the helper taking half of the features', async () => {
    const n = 20_000;
    const nFeatures = 6;
    const rng = new Rng(14);
    const colBins = Uint8Array.from({ length: n * nFeatures }, () => (rng.next() < 0.1 ? 255 : rng.int(40)));
    const solo = new HistArena(colBins, n, nFeatures, 1);
    const duo = new HistArena(colBins, n, nFeatures, 2);
    try {
      for (let i = 0; i < 200 && !duo.helperReady(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(duo.helperReady()).toBe(true);
      for (const arena of [solo, duo]) {
        for (let r = 0; r < n; r++) {
          arena.gh[2 * r] = Math.sin(r);
          arena.gh[2 * r + 1] = 65536 + (r % 7) / 10;
          arena.idx[r] = r;
        }
      }
      const a = solo.takeHist();
      const b = duo.takeHist();
      for (let round = 0; round < 20; round++) {
        const start = round * 100;
        solo.histogramOfRows(a, start, n);
        duo.histogramOfRows(b, start, n);
        const words = solo.histBytes / 8;
        expect(duo.f64.subarray(b / 8, b / 8 + words)).toEqual(solo.f64.subarray(a / 8, a / 8 + words));
      }
      expect(duo.sharedBuilds).toBeGreaterThan(0);
      expect(duo.helperError).toBeNull();
    } finally {
      duo.dispose();
    }
  });

  it('gives the same model with threads 1 and 2', () => {
    const train = makeData(20_000, ['a', 'b', 'noise'], 15, xorRow);
    const params = { maxIterations: 15, earlyStoppingRounds: 0 };
    const one = gbdtFamily.fit(train.data, train.y, 'classification', { ...params, threads: 1 }, { seed: 1 });
    const two = gbdtFamily.fit(train.data, train.y, 'classification', { ...params, threads: 2 }, { seed: 1 });
    expect(JSON.stringify(two.toJSON().body)).toBe(JSON.stringify(one.toJSON().body));
  });
});
