import { describe, expect, it } from 'vitest';
import {
  latestForecastOf,
  latestValueForecastOf,
  PredictError,
  predictBatchStep,
  predictStep,
  predictTasksStep,
} from '../../../../consumers/predictor/step.ts';
import { priorChampion } from '../../../../lib/models/champion.ts';
import { TASKS } from '../../../../lib/models/tasks.ts';
import { testRules } from '../../../support/rules.ts';
import type { FeatureVector } from '../../../../lib/domain/events.ts';
import { fitClipping } from '../../../../lib/domain/features/clipping.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../../lib/domain/features/feature-set.ts';
import { WEATHER_AUS_RAIN_RATE, priorClimatologyModel } from '../../../../lib/ml/climatology.ts';
import { logregFamily } from '../../../../lib/ml/linear.ts';
import type { Dataset } from '../../../../lib/ml/model.ts';
import { observation } from '../../../support/observations.ts';
import { prepareChampion, ChampionError } from '../../../../lib/models/champion.ts';
import { featuresStep } from '../../../../consumers/features/step.ts';
import type { Champion } from '../../../../lib/models/champion.ts';

function features(humidity3pm: number | null, date = '2017-01-01'): FeatureVector {
  return featuresStep(null, observation({ date, humidity3pm, rainToday: true, rainfall: 4 }), 77).output!;
}

/** A logistic regression on humidity alone (the wetter, the likelier rain), on 200 rows with humidity 0..99. */
function humidityModel() {
  const n = 200;
  const data = new Float64Array(n);
  const target = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    data[r] = r % 100;
    target[r] = (r * 7919) % 100 < r % 100 ? 1 : 0;
  }
  const dataset: Dataset = { featureNames: ['humidity3pm'], nRows: n, data };
  return { model: logregFamily.fit(dataset, target, 'classification', {}, { seed: 1 }), dataset };
}

/** A champion of the current feature set, trained on nothing in particular. */
function championOf(partial: Pick<Champion, 'version' | 'model'> & Partial<Champion>): Champion {
  return {
    family: 'test',
    featureSetVersion: FEATURE_SET_VERSION,
    clip: null,
    trainedUntil: null,
    ...partial,
  };
}

describe('predictStep', () => {
  it('forecasts with the climatology prior before any model is trained', () => {
    const champion = prepareChampion(
      championOf({ version: 'prior', model: priorClimatologyModel(FEATURE_NAMES) }),
    );
    const fv = features(60);
    const p = predictStep(fv, champion, 0.5, 1234);
    expect(p.probability).toBeCloseTo(WEATHER_AUS_RAIN_RATE, 12);
    expect(p).toMatchObject({
      location: 'Albury',
      date: '2017-01-01',
      decision: false,
      threshold: 0.5,
      modelVersion: 'prior',
      featureSetVersion: FEATURE_SET_VERSION,
      rainToday: true,
      rainfall: 4,
      ingestedAt: 77,
      predictedAt: 1234,
    });
    expect(p.values).toBe(fv.values);
    expect(predictStep(fv, champion, 0.2, 0).decision).toBe(true);
  });

  it('feeds a model its own columns, picked by name, through one reused scratch row', () => {
    const { model } = humidityModel();
    const champion = prepareChampion(championOf({ version: 'm1', model }));
    const dry = predictStep(features(10), champion, 0.5, 0).probability;
    const wet = predictStep(features(90), champion, 0.5, 0).probability;
    expect(dry).toBeCloseTo(model.predictRow([10]), 15);
    expect(wet).toBeCloseTo(model.predictRow([90]), 15);
    expect(wet).toBeGreaterThan(dry);
    const scratch = champion.scratch;
    predictStep(features(50), champion, 0.5, 0);
    expect(champion.scratch).toBe(scratch);
    expect(Array.from(scratch)).toEqual([50]);
  });

  it('clips with the bounds learned at training, and passes the raw values on', () => {
    const { model, dataset } = humidityModel();
    const clip = fitClipping(dataset, 0.1, 0.9);
    const champion = prepareChampion(championOf({ version: 'm2', model, clip }));
    const upper = clip.upper[0]!;
    expect(upper).toBeLessThan(99);
    const outlier = features(100);
    const p = predictStep(outlier, champion, 0.5, 0);
    expect(p.probability).toBeCloseTo(model.predictRow([upper]), 15);
    expect(p.values[FEATURE_NAMES.indexOf('humidity3pm')]).toBe(100);
    // Missing stays missing: the model imputes it, clipping does not invent a value.
    expect(predictStep(features(null), champion, 0.5, 0).probability).toBeCloseTo(
      model.predictRow([NaN]),
      15,
    );
  });

  it('refuses features of another feature-set version or width, with a typed, non-retriable error', () => {
    const champion = prepareChampion(
      championOf({ version: 'prior', model: priorClimatologyModel(FEATURE_NAMES) }),
    );
    const other = { ...features(50), featureSetVersion: 'fs0' };
    expect(() => predictStep(other, champion, 0.5, 0)).toThrow(PredictError);
    expect(() => predictStep(other, champion, 0.5, 0)).toThrow(
      expect.objectContaining({ code: 'FEATURE_SET_MISMATCH', retriable: false }),
    );
    const short = { ...features(50), values: features(50).values.slice(1) };
    expect(() => predictStep(short, champion, 0.5, 0)).toThrow(/values/);
  });

  it('refuses at preparation a champion whose model needs a feature its feature set lacks', () => {
    const model = priorClimatologyModel(['locationCode', 'month', 'neighbourRain']);
    expect(() => prepareChampion(championOf({ version: 'x', model }))).toThrow(
      expect.objectContaining({ code: 'FEATURE_SET_MISMATCH' }),
    );
    expect(() =>
      prepareChampion(
        championOf({
          version: 'y',
          model: priorClimatologyModel(FEATURE_NAMES),
          featureSetVersion: 'fs9',
        }),
      ),
    ).toThrow(ChampionError);
  });
});

describe('predictBatchStep', () => {
  const rules = testRules();
  const champion = () =>
    prepareChampion(championOf({ version: 'prior', model: priorClimatologyModel(FEATURE_NAMES) }));

  it('predicts every valid vector and keeps the last of each station as its latest forecast', () => {
    const batch = [features(10, '2017-01-01'), features(20, '2017-01-02')];
    const result = predictBatchStep(
      batch.map((event) => ({ event })),
      champion(),
      0.5,
      5,
      rules,
    );
    expect(result.predictions.map((p) => p.date)).toEqual(['2017-01-01', '2017-01-02']);
    expect(result.latest.get('Albury')!.date).toBe('2017-01-02');
    expect(result.rejected).toEqual([]);
  });

  it('returns what it cannot predict as rejections naming the field, never throwing', () => {
    const good = features(10, '2017-01-01');
    const batch: FeatureVector[] = [
      { ...good, date: '9999-12-31' },
      { ...good, date: '2099-01-01' },
      { ...good, location: 'sydney' },
      { ...good, featureSetVersion: 'fs0' },
      { ...good, values: good.values.map((v, i) => (i === 3 ? Infinity : v)) },
      { ...good, rainToday: false, rainfall: 80 },
      good,
    ];
    const result = predictBatchStep(
      batch.map((event) => ({ event })),
      champion(),
      0.5,
      5,
      rules,
    );
    expect(result.rejected.map((r) => [r.at, r.kind, r.field])).toEqual([
      [0, 'invalid', 'date'],
      [1, 'invalid', 'date'],
      [2, 'invalid', 'location'],
      [3, 'invalid', 'featureSetVersion'],
      [4, 'invalid', 'values[3]'],
      [5, 'invalid', 'rainToday'],
    ]);
    expect(result.predictions).toHaveLength(1);
    expect(latestForecastOf(result.predictions[0]!).forecastFor).toBe('2017-01-02');
  });
});

describe('one prediction per task', () => {
  it("predicts rain and max_temp from one vector: max_temp's persistence prior forecasts today's maximum", () => {
    const fv = featuresStep(
      null,
      observation({ date: '2017-01-01', maxTemp: 31.2, rainToday: false, rainfall: 0 }),
      5,
    ).output!;
    const champions = [
      prepareChampion(priorChampion(TASKS.rain)),
      prepareChampion(priorChampion(TASKS.max_temp)),
    ];
    const result = predictTasksStep(fv, champions, 0.5, 9, testRules(), 'Albury');
    if (!('predictions' in result)) throw new Error('rejected');
    const [rain, temp] = result.predictions;
    expect(rain).toMatchObject({ task: 'rain', value: null, modelVersion: 'prior-climatology' });
    expect(rain!.probability).toBeGreaterThan(0);
    expect(temp).toMatchObject({
      task: 'max_temp',
      value: 31.2,
      probability: 0,
      decision: false,
      modelVersion: 'prior-persistence',
      values: fv.values,
    });
    expect(latestValueForecastOf(temp!, '°C')).toMatchObject({
      task: 'max_temp',
      forecastFor: '2017-01-02',
      value: 31.2,
      unit: '°C',
    });
  });

  it('refuses the whole record, naming the task, when one task cannot predict it', () => {
    const fv = features(50);
    const broken = prepareChampion({
      ...priorChampion(TASKS.max_temp),
      model: { ...priorChampion(TASKS.max_temp).model, task: 'regression', predictRow: () => NaN },
    });
    const result = predictTasksStep(
      fv,
      [prepareChampion(priorChampion()), broken],
      0.5,
      0,
      testRules(),
      'Albury',
    );
    expect(result).toMatchObject({ rejection: { field: 'values', kind: 'invalid' } });
    if ('rejection' in result)
      expect(result.rejection.reason).toMatch(/PREDICTION_NOT_FINITE.*task max_temp/);
  });
});
