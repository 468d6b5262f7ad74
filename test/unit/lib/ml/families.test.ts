import { describe, expect, it } from 'vitest';
import { datasetFromColumns } from '../../../../lib/ml/dataset.ts';
import {
  FAMILIES,
  UnknownFamilyError,
  familyByName,
  isFamilyName,
  loadModel,
} from '../../../../lib/ml/families.ts';
import { rocAuc } from '../../../../lib/ml/metrics.ts';
import { ModelFormatError, type ModelArtifact, type Task } from '../../../../lib/ml/model.ts';

function synthetic(n: number, seed: number) {
  let s = seed;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const names = ['x0', 'x1', 'x2'];
  const data = new Float32Array(n * 3);
  const cls = new Float64Array(n);
  const reg = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = [r(), r(), r()];
    for (let c = 0; c < 3; c++) data[c * n + i] = c === 2 && r() < 0.1 ? NaN : x[c]!;
    cls[i] = x[0]! + 0.5 * x[1]! + 0.2 * (r() - 0.5) > 0.75 ? 1 : 0;
    reg[i] = 2 * x[0]! - x[1]! + 0.1 * r();
  }
  return { data: datasetFromColumns(names, n, data), cls, reg };
}

const train = synthetic(600, 3);
const test = synthetic(300, 4);
/** Small settings so every family fits in well under a second. */
const SMALL: Record<string, Record<string, unknown>> = {
  gbdt: { maxIterations: 30 },
  forest: { nTrees: 10 },
  logreg: {},
  linreg: {},
  mlrf: { sampleRows: 200, nEstimators: 3, maxFeatures: 1 },
};
const TASKS: Record<string, Task[]> = {
  gbdt: ['classification', 'regression'],
  forest: ['classification', 'regression'],
  logreg: ['classification'],
  linreg: ['regression'],
  mlrf: ['classification', 'regression'],
};

describe('the family registry', () => {
  it('knows the families by name', () => {
    // climatology (the baseline, lib/ml/climatology.ts) needs its own feature names: its round trip is
    // tested beside it, not in the generic loop below.
    expect(Object.keys(FAMILIES).sort()).toEqual([
      'climatology',
      'forest',
      'gbdt',
      'linreg',
      'logreg',
      'mlrf',
    ]);
    for (const name of Object.keys(FAMILIES)) expect(familyByName(name).family).toBe(name);
    expect(isFamilyName('gbdt')).toBe(true);
    expect(isFamilyName('toString')).toBe(false);
    expect(() => familyByName('xgboost')).toThrow(UnknownFamilyError);
  });

  for (const [name, tasks] of Object.entries(TASKS)) {
    for (const task of tasks) {
      it(`${name} (${task}) fits, round-trips through loadModel and predicts the same`, () => {
        const family = familyByName(name);
        const target = task === 'classification' ? train.cls : train.reg;
        const model = family.fit(train.data, target, task, SMALL[name]!, { seed: 7 });
        const p = model.predictBatch(test.data);
        if (task === 'classification') expect(rocAuc(test.cls, p)).toBeGreaterThan(0.75);
        const stored = JSON.parse(JSON.stringify(model.toJSON())) as ModelArtifact;
        expect(stored.family).toBe(name);
        const loaded = loadModel(stored, ['x0', 'x1', 'x2']);
        expect(loaded.task).toBe(task);
        const q = loaded.predictBatch(test.data);
        for (let i = 0; i < p.length; i++) expect(q[i]).toBeCloseTo(p[i]!, 12);
        expect(loaded.predictRow([0.9, 0.9, NaN])).toBeCloseTo(model.predictRow([0.9, 0.9, NaN]), 12);
      });
    }
  }
});

describe('loadModel', () => {
  const artifact = JSON.parse(
    JSON.stringify(
      familyByName('logreg').fit(train.data, train.cls, 'classification', {}, { seed: 1 }).toJSON(),
    ),
  ) as ModelArtifact;

  it('names the first differing feature', () => {
    expect(() => loadModel(artifact, ['x0', 'x9', 'x2'])).toThrow(/feature 1 is "x1", expected "x9"/);
    expect(() => loadModel(artifact, ['x0', 'x1'])).toThrow(/feature 2 is "x2", expected \(none\)/);
    expect(() => loadModel(artifact, ['x0', 'x1', 'x2', 'x3'])).toThrow(ModelFormatError);
  });

  it('rejects what is not a rainstream model of a known family', () => {
    const names = ['x0', 'x1', 'x2'];
    expect(() => loadModel(null, names)).toThrow(/not an object/);
    expect(() => loadModel({ ...artifact, format: 'onnx' }, names)).toThrow(/format is "onnx"/);
    expect(() => loadModel({ ...artifact, formatVersion: '1' }, names)).toThrow(/formatVersion/);
    expect(() => loadModel({ ...artifact, family: 'xgboost' }, names)).toThrow(
      /unknown model family "xgboost"/,
    );
    expect(() => loadModel({ ...artifact, task: 'ranking' }, names)).toThrow(ModelFormatError);
    expect(() => loadModel({ ...artifact, formatVersion: 99 }, names)).toThrow(ModelFormatError);
  });

  it('uses the registry it is given', () => {
    expect(() => loadModel(artifact, ['x0', 'x1', 'x2'], { gbdt: FAMILIES.gbdt })).toThrow(/known: gbdt/);
  });
});
