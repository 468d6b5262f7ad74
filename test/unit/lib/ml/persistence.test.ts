import { describe, expect, it } from 'vitest';
import { datasetFromRows } from '../../../../lib/ml/dataset.ts';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import { PersistenceModel } from '../../../../lib/ml/persistence.ts';

describe('persistence', () => {
  const names = ['maxTemp', 'temp3pm', 'other'];
  const model = new PersistenceModel(names, ['maxTemp', 'temp3pm'], 23.2);

  it("forecasts today's value, then the fallback, then the constant", () => {
    expect(model.task).toBe('regression');
    expect(model.predictRow([30, 25, 1])).toBe(30);
    expect(model.predictRow([NaN, 25, 1])).toBe(25);
    expect(model.predictRow([NaN, NaN, 1])).toBe(23.2);
    const data = datasetFromRows(names, [
      [30, 25, 1],
      [null, 25, 1],
      [null, null, 1],
    ]);
    expect(Array.from(model.predictBatch(data))).toEqual([30, 25, 23.2]);
  });

  it('refuses a column the features lack and a constant that is not a number', () => {
    expect(() => new PersistenceModel(names, ['minTemp'], 0)).toThrow(ModelParamsError);
    expect(() => new PersistenceModel(names, ['maxTemp'], NaN)).toThrow(/not finite/);
  });
});
