import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import { datasetFromRows, readRow, sliceRows, sliceValues } from '../../../../lib/ml/dataset.ts';
import { linregFamily, logregFamily } from '../../../../lib/ml/linear.ts';
import { ModelFormatError, type ModelArtifact } from '../../../../lib/ml/model.ts';

const dir = new URL('../../../fixtures/ml/', import.meta.url);
const lines = readFileSync(new URL('linear-fixture.csv', dir), 'utf8').trim().split('\n').slice(1);
const cells = lines.map((l) => l.split(',').map((c) => (c === '' ? null : Number(c))));
const names = ['x1', 'x2', 'x3', 'x4'];
const data = datasetFromRows(
  names,
  cells.map((c) => c.slice(0, 4)),
  { precision: 'float64' },
);
const yClass = Float64Array.from(cells, (c) => c[4]!);
const yReg = Float64Array.from(cells, (c) => c[5]!);
const sk = JSON.parse(readFileSync(new URL('linear-sklearn.json', dir), 'utf8'));
const opts = { seed: 1 };

describe('logregFamily', () => {
  const model = logregFamily.fit(data, yClass, 'classification', { tol: 1e-12 }, opts);

  it('has missing values in the fixture (the imputation path is exercised)', () => {
    expect(Array.from(data.data).filter(Number.isNaN).length).toBeGreaterThan(100);
  });

  it("matches scikit-learn's LogisticRegression(C=1) on the same standardization", () => {
    const body = model.toJSON().body as {
      means: number[];
      stds: number[];
      weights: number[];
      intercept: number;
    };
    body.means.forEach((m, i) => expect(m).toBeCloseTo(sk.means[i], 10));
    body.stds.forEach((s, i) => expect(s).toBeCloseTo(sk.stds[i], 10));
    body.weights.forEach((w, i) => expect(w).toBeCloseTo(sk.logreg.weights[i], 8));
    expect(body.intercept).toBeCloseTo(sk.logreg.intercept, 8);
    const p = model.predictBatch(data);
    p.forEach((v, i) => expect(v).toBeCloseTo(sk.logreg.proba[i], 8));
  });

  it('predicts one row as the batch does, NaN imputed with the training mean', () => {
    const p = model.predictBatch(data);
    for (const r of [0, 1, 17, 299]) expect(model.predictRow(readRow(data, r))).toBeCloseTo(p[r]!, 12);
    const means = (model.toJSON().body as { means: number[] }).means;
    expect(model.predictRow([NaN, NaN, NaN, NaN])).toBeCloseTo(model.predictRow(means), 12);
  });

  it('round-trips through JSON and rejects a mismatched artifact', () => {
    const art = JSON.parse(JSON.stringify(model.toJSON())) as ModelArtifact;
    const back = logregFamily.fromJSON(art);
    expect(Array.from(back.predictBatch(data))).toEqual(Array.from(model.predictBatch(data)));
    expect(() => logregFamily.fromJSON({ ...art, family: 'linreg' })).toThrow(ModelFormatError);
    expect(() => logregFamily.fromJSON({ ...art, formatVersion: 2 })).toThrow(/format version 2/);
    expect(() => logregFamily.fromJSON({ ...art, body: { ...(art.body as object), weights: [1] } })).toThrow(
      /body.weights/,
    );
    expect(() => logregFamily.fromJSON({ ...art, featureNames: ['x1', 'x2'] })).toThrow(ModelFormatError);
  });

  it('refuses a batch with another feature order', () => {
    const swapped = { ...data, featureNames: ['x2', 'x1', 'x3', 'x4'] };
    expect(() => model.predictBatch(swapped)).toThrow(/feature 0 is "x2", expected "x1"/);
  });

  it('is deterministic and validates its input', () => {
    const again = logregFamily.fit(data, yClass, 'classification', { tol: 1e-12 }, { seed: 99 });
    expect(again.toJSON()).toEqual(model.toJSON());
    expect(() => logregFamily.fit(data, yReg, 'classification', {}, opts)).toThrow(ModelParamsError);
    expect(() => logregFamily.fit(data, yClass, 'regression', {}, opts)).toThrow(ModelParamsError);
    expect(() => logregFamily.fit(data, yClass, 'classification', { l2: -1 }, opts)).toThrow(/l2/);
  });

  it('a stronger penalty shrinks the weights', () => {
    const strong = logregFamily.fit(data, yClass, 'classification', { l2: 100 }, opts);
    const norm = (m: typeof model) =>
      (m.toJSON().body as { weights: number[] }).weights.reduce((s, w) => s + w * w, 0);
    expect(norm(strong)).toBeLessThan(norm(model));
  });
});

describe('linregFamily', () => {
  const model = linregFamily.fit(data, yReg, 'regression', {}, opts);

  it("matches scikit-learn's Ridge(alpha=1) on the same standardization", () => {
    const body = model.toJSON().body as { weights: number[]; intercept: number };
    body.weights.forEach((w, i) => expect(w).toBeCloseTo(sk.ridge.weights[i], 8));
    expect(body.intercept).toBeCloseTo(sk.ridge.intercept, 8);
    model.predictBatch(data).forEach((v, i) => expect(v).toBeCloseTo(sk.ridge.pred[i], 8));
    expect(model.predictRow(readRow(data, 5))).toBeCloseTo(sk.ridge.pred[5], 8);
  });

  it('round-trips and keeps its task', () => {
    const back = linregFamily.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    expect(back.task).toBe('regression');
    expect(back.predictRow(readRow(data, 3))).toBe(model.predictRow(readRow(data, 3)));
    expect(() => logregFamily.fromJSON(model.toJSON())).toThrow(ModelFormatError);
  });

  it('survives a constant and an all-missing column', () => {
    const d = datasetFromRows(
      ['c', 'm', 'x'],
      [
        [1, null, 0],
        [1, null, 1],
        [1, null, 2],
      ],
    );
    const m = linregFamily.fit(d, Float64Array.from([1, 3, 5]), 'regression', { l2: 0 }, opts);
    expect(m.predictRow([1, NaN, 3])).toBeCloseTo(7, 6);
  });
});

describe('linreg warm start', () => {
  const rows = (from: number, to: number) => Int32Array.from({ length: to - from }, (_, i) => from + i);
  const part = (idx: Int32Array) => ({ data: sliceRows(data, idx), y: sliceValues(yReg, idx) });
  const a = part(rows(0, 150));
  const b = part(rows(150, 220));
  const c = part(rows(220, data.nRows));
  const base = linregFamily.fit(a.data, a.y, 'regression', {}, opts);

  it('is exact: continuing week by week equals continuing once on the same rows', () => {
    const stepwise = linregFamily.fitWarm!(linregFamily.fitWarm!(base, b.data, b.y, opts), c.data, c.y, opts);
    const bc = part(rows(150, data.nRows));
    const once = linregFamily.fitWarm!(base, bc.data, bc.y, opts);
    for (let r = 0; r < data.nRows; r += 17) {
      const row = readRow(data, r);
      expect(stepwise.predictRow(row)).toBeCloseTo(once.predictRow(row), 9);
    }
  });

  it('learns the new rows as a refit on all of them would, up to the kept standardization', () => {
    const warm = linregFamily.fitWarm!(
      base,
      part(rows(150, data.nRows)).data,
      part(rows(150, data.nRows)).y,
      opts,
    );
    const full = linregFamily.fit(data, yReg, 'regression', {}, opts);
    let diff = 0;
    let spread = 0;
    for (let r = 0; r < data.nRows; r++) {
      const row = readRow(data, r);
      diff = Math.max(diff, Math.abs(warm.predictRow(row) - full.predictRow(row)));
      spread = Math.max(spread, Math.abs(full.predictRow(row)));
    }
    expect(diff).toBeLessThan(0.05 * spread);
  });

  it('travels in its artifact and refuses a base without its sums', () => {
    const loaded = linregFamily.fromJSON(base.toJSON());
    const again = linregFamily.fitWarm!(loaded, b.data, b.y, opts);
    expect(again.predictRow(readRow(data, 3))).toBeCloseTo(
      linregFamily.fitWarm!(base, b.data, b.y, opts).predictRow(readRow(data, 3)),
      12,
    );
    const artifact = base.toJSON();
    const { gram: _g, zty: _z, ...older } = artifact.body as Record<string, unknown>;
    const old = linregFamily.fromJSON({ ...artifact, body: older } as ModelArtifact);
    expect(() => linregFamily.fitWarm!(old, b.data, b.y, opts)).toThrow(ModelParamsError);
    expect(() => linregFamily.fitWarm!(old, b.data, b.y, opts)).toThrow(/refit/);
  });
});
