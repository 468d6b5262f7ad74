import { describe, expect, it } from 'vitest';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import { datasetFromColumns, readRow } from '../../../../lib/ml/dataset.ts';
import { rocAuc } from '../../../../lib/ml/metrics.ts';
import { mlrfFamily, stratifiedSample } from '../../../../lib/ml/mlrf.ts';
import { ModelFormatError, type ModelArtifact } from '../../../../lib/ml/model.ts';

/** Two informative features (one with 20 % missing), two noise; label = x0 + x1 > 1 with 10 % flips. */
function synthetic(n: number, seed: number) {
  let s = seed;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const names = ['x0', 'x1', 'n0', 'n1'];
  const data = new Float64Array(n * 4);
  const cls = new Float64Array(n);
  const reg = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = [r(), r(), r(), r()];
    for (let c = 0; c < 4; c++) data[c * n + i] = c === 1 && r() < 0.2 ? NaN : x[c]!;
    cls[i] = x[0]! + x[1]! > 1 !== r() < 0.1 ? 1 : 0;
    reg[i] = 3 * x[0]! - 2 * x[1]!;
  }
  return { data: datasetFromColumns(names, n, data), cls, reg };
}

const train = synthetic(300, 11);
const test = synthetic(200, 23);
const params = { nEstimators: 5, sampleRows: 150, maxDepth: 6, maxFeatures: 1 };

describe('stratifiedSample', () => {
  it('keeps the class share, is seeded and sorted', () => {
    const y = Float64Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const a = stratifiedSample(y, 200, 'classification', 5);
    expect(a.length).toBe(200);
    expect(Array.from(a).filter((i) => y[i] === 1).length).toBe(50);
    expect(new Set(a).size).toBe(200);
    expect(Array.from(a)).toEqual(Array.from(a).sort((p, q) => p - q));
    expect(Array.from(stratifiedSample(y, 200, 'classification', 5))).toEqual(Array.from(a));
    expect(Array.from(stratifiedSample(y, 200, 'classification', 6))).not.toEqual(Array.from(a));
    expect(stratifiedSample(y, 5000, 'regression', 1).length).toBe(1000);
  });
});

describe('mlrfFamily', () => {
  const model = mlrfFamily.fit(train.data, train.cls, 'classification', params, { seed: 3 });

  it('learns the signal from its bounded sample and records the rows used', () => {
    const p = model.predictBatch(test.data);
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(rocAuc(test.cls, p)).toBeGreaterThan(0.75);
    expect(model.toJSON().params.sampleRows).toBe(150);
  });

  it('predicts a row (NaN imputed by the sample median) as the batch does', () => {
    const p = model.predictBatch(test.data);
    for (const r of [0, 5, 77]) expect(model.predictRow(readRow(test.data, r))).toBe(p[r]);
    expect(Number.isFinite(model.predictRow([NaN, NaN, NaN, NaN]))).toBe(true);
  });

  it('round-trips through JSON with the same predictions', () => {
    const art = JSON.parse(JSON.stringify(model.toJSON())) as ModelArtifact;
    const back = mlrfFamily.fromJSON(art);
    expect(Array.from(back.predictBatch(test.data))).toEqual(Array.from(model.predictBatch(test.data)));
    expect(() => mlrfFamily.fromJSON({ ...art, family: 'gbdt' })).toThrow(ModelFormatError);
    expect(() => mlrfFamily.fromJSON({ ...art, body: { medians: [0, 0, 0, 0], forest: {} } })).toThrow(
      /RFClassifier/,
    );
    expect(() => mlrfFamily.fromJSON({ ...art, body: { ...(art.body as object), medians: [1] } })).toThrow(
      /body.medians/,
    );
  });

  it('is deterministic given a seed', () => {
    const again = mlrfFamily.fit(train.data, train.cls, 'classification', params, { seed: 3 });
    expect(Array.from(again.predictBatch(test.data))).toEqual(Array.from(model.predictBatch(test.data)));
  });

  it('fits regression too', () => {
    const m = mlrfFamily.fit(train.data, train.reg, 'regression', params, { seed: 1 });
    const p = m.predictBatch(test.data);
    let se = 0;
    let sv = 0;
    const mean = test.reg.reduce((a, b) => a + b, 0) / test.reg.length;
    for (let i = 0; i < p.length; i++) {
      se += (p[i]! - test.reg[i]!) ** 2;
      sv += (test.reg[i]! - mean) ** 2;
    }
    expect(1 - se / sv).toBeGreaterThan(0.5);
    const back = mlrfFamily.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predictRow(readRow(test.data, 4))).toBeCloseTo(p[4]!, 12);
  });

  it('rejects bad parameters and labels', () => {
    expect(() =>
      mlrfFamily.fit(train.data, train.cls, 'classification', { maxFeatures: 0 }, { seed: 1 }),
    ).toThrow(ModelParamsError);
    expect(() => mlrfFamily.fit(train.data, train.reg, 'classification', params, { seed: 1 })).toThrow(
      /0 or 1/,
    );
  });
});
