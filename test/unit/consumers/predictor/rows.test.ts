import { describe, expect, it } from 'vitest';
import type { Prediction } from '../../../../lib/domain/events.ts';
import { predictionRow } from '../../../../consumers/predictor/rows.ts';
import { latestForecastOf } from '../../../../consumers/predictor/step.ts';

const prediction: Prediction = {
  location: 'Sydney',
  date: '2016-02-29',
  probability: 0.7,
  decision: true,
  threshold: 0.5,
  modelVersion: 'gbdt-2016-02-22',
  featureSetVersion: 'fs1',
  values: [1, NaN],
  rainToday: false,
  rainfall: 0,
  ingestedAt: 1_700_000_000_000,
  predictedAt: 1_700_000_000_250,
  task: 'rain',
  value: null,
};

describe('prediction rows', () => {
  it('maps a prediction to its row with lag and seconds timestamps', () => {
    expect(predictionRow(prediction, 7)).toEqual({
      task: 'rain',
      location: 'Sydney',
      date: '2016-02-29',
      probability: 0.7,
      value: null,
      decision: 1,
      threshold: 0.5,
      model_version: 'gbdt-2016-02-22',
      feature_set_version: 'fs1',
      ingested_at: 1_700_000_000,
      predicted_at: 1_700_000_000,
      lag_ms: 250,
      ver: 7,
    });
  });

  it('serves the forecast for the next day, across a leap day', () => {
    expect(latestForecastOf(prediction)).toMatchObject({
      date: '2016-02-29',
      forecastFor: '2016-03-01',
      probability: 0.7,
    });
  });
});
