import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import { ModelParamsError } from '../../../../lib/ml/artifact.ts';
import {
  WEATHER_AUS_RAIN_RATE,
  climatologyFamily,
  priorClimatologyModel,
} from '../../../../lib/ml/climatology.ts';
import { ModelFormatError, type Dataset, type ModelArtifact } from '../../../../lib/ml/model.ts';

const NAMES = ['humidity3pm', 'locationCode', 'month'];
const seed = { seed: 1 };

/** Rows of (station code, month, label); humidity is noise the baseline must ignore. */
function dataset(rows: [number, number, number][]): { data: Dataset; target: Float64Array } {
  const n = rows.length;
  const data = new Float64Array(n * 3);
  rows.forEach(([code, month], r) => {
    data[r] = 50 + (r % 7);
    data[n + r] = code;
    data[2 * n + r] = month;
  });
  return { data: { featureNames: NAMES, nRows: n, data }, target: Float64Array.from(rows, (r) => r[2]) };
}

const repeat = (times: number, row: [number, number, number]) => Array.from({ length: times }, () => row);

describe('climatology', () => {
  // Station 0: January 80 of 100 rainy; July 10 of 100. Station 1: January 2 of 2.
  const rows = [
    ...repeat(80, [0, 1, 1]),
    ...repeat(20, [0, 1, 0]),
    ...repeat(10, [0, 7, 1]),
    ...repeat(90, [0, 7, 0]),
    ...repeat(2, [1, 1, 1]),
  ];
  const params = { priorRate: 0.2, globalStrength: 10, stationStrength: 20, cellStrength: 5 };
  const { data, target } = dataset(rows);
  const model = climatologyFamily.fit(data, target, 'classification', params, seed);
  const row = (code: number, month: number) => [55, code, month];

  // The hierarchy by hand.
  const global = (92 + 10 * 0.2) / (202 + 10);
  const station0 = (90 + 20 * global) / (200 + 20);
  const station1 = (2 + 20 * global) / (2 + 20);

  it('smooths each station-month frequency toward the station rate, then the global rate', () => {
    expect(model.predictRow(row(0, 1))).toBeCloseTo((80 + 5 * station0) / (100 + 5), 12);
    expect(model.predictRow(row(0, 7))).toBeCloseTo((10 + 5 * station0) / (100 + 5), 12);
    // Two rainy Januaries are weak evidence: pulled far below 100 %.
    expect(model.predictRow(row(1, 1))).toBeCloseTo((2 + 5 * station1) / (2 + 5), 12);
    expect(model.predictRow(row(1, 1))).toBeLessThan(0.75);
    // A month the station never had: its station rate.
    expect(model.predictRow(row(1, 3))).toBeCloseTo(station1, 12);
  });

  it('falls back to the pooled month for an unknown station, to the station for an unknown month', () => {
    const januaryPooled = (82 + 20 * global) / (102 + 20);
    expect(model.predictRow(row(NaN, 1))).toBeCloseTo(januaryPooled, 12);
    expect(model.predictRow(row(48, 1))).toBeCloseTo(januaryPooled, 12); // code never trained on
    expect(model.predictRow(row(0, NaN))).toBeCloseTo(station0, 12);
    expect(model.predictRow(row(NaN, NaN))).toBeCloseTo(global, 12);
  });

  it('predicts a batch as it predicts rows, reading columns by name', () => {
    const batch = model.predictBatch(data);
    for (let r = 0; r < data.nRows; r += 17)
      expect(batch[r]).toBe(
        model.predictRow(row(data.data[data.nRows + r]!, data.data[2 * data.nRows + r]!)),
      );
  });

  it('round-trips through its JSON artifact, and refuses another family or a broken body', () => {
    const artifact = JSON.parse(JSON.stringify(model.toJSON())) as ModelArtifact;
    expect(artifact).toMatchObject({
      format: 'rainstream.model',
      family: 'climatology',
      featureNames: NAMES,
      params,
    });
    const loaded = climatologyFamily.fromJSON(artifact);
    for (const [c, m] of [
      [0, 1],
      [1, 1],
      [NaN, 7],
      [3, NaN],
    ])
      expect(loaded.predictRow(row(c!, m!))).toBe(model.predictRow(row(c!, m!)));
    expect(() => climatologyFamily.fromJSON({ ...artifact, family: 'gbdt' })).toThrow(ModelFormatError);
    expect(() => climatologyFamily.fromJSON({ ...artifact, formatVersion: 2 })).toThrow(ModelFormatError);
    expect(() =>
      climatologyFamily.fromJSON({ ...artifact, body: { stations: 2, n: [1], positives: [] } }),
    ).toThrow(ModelFormatError);
    expect(() => climatologyFamily.fromJSON({ ...artifact, featureNames: ['humidity3pm'] })).toThrow(
      ModelFormatError,
    );
    expect(() => climatologyFamily.fromJSON({ ...artifact, params: { ...params, priorRate: 2 } })).toThrow(
      ModelFormatError,
    );
  });

  it('needs the station and month features, 0/1 labels and a classification task', () => {
    const noMonth: Dataset = { featureNames: ['locationCode'], nRows: 1, data: new Float64Array([0]) };
    expect(() => climatologyFamily.fit(noMonth, new Float64Array([1]), 'classification', {}, seed)).toThrow(
      ModelParamsError,
    );
    expect(() => climatologyFamily.fit(data, target, 'regression', {}, seed)).toThrow(ModelParamsError);
    expect(() =>
      climatologyFamily.fit(
        data,
        target.map(() => 0.5),
        'classification',
        {},
        seed,
      ),
    ).toThrow(ModelParamsError);
    expect(() => climatologyFamily.fit(data, target, 'classification', { cellStrength: 0 }, seed)).toThrow(
      ModelParamsError,
    );
  });
});

describe('priorClimatologyModel', () => {
  it('forecasts the weatherAUS base rate everywhere before any data, and stores as a climatology artifact', () => {
    const prior = priorClimatologyModel(FEATURE_NAMES);
    expect(WEATHER_AUS_RAIN_RATE).toBeCloseTo(31_877 / 142_193, 3);
    const row = new Float64Array(FEATURE_NAMES.length).fill(NaN);
    expect(prior.predictRow(row)).toBeCloseTo(WEATHER_AUS_RAIN_RATE, 15);
    row[FEATURE_NAMES.indexOf('locationCode')] = 5;
    row[FEATURE_NAMES.indexOf('month')] = 6;
    expect(prior.predictRow(row)).toBeCloseTo(WEATHER_AUS_RAIN_RATE, 15);
    expect(prior.family).toBe('climatology');
    const loaded = climatologyFamily.fromJSON(JSON.parse(JSON.stringify(prior.toJSON())));
    expect(loaded.predictRow(row)).toBe(prior.predictRow(row));
    expect(loaded.featureNames).toEqual(FEATURE_NAMES);
  });
});
