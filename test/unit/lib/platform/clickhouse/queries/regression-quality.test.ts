/**
 * A regression task's quality (GET /quality?task=max_temp) on current ClickHouse (chDB), against the
 * model engine's own figures (lib/ml/metrics.ts) on the same pairs: R², RMSE and MAE per bucket, rain's
 * rows of the same station-days left out.
 */
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actualRow } from '../../../../../../consumers/labeler/rows.ts';
import { predictionRow } from '../../../../../../consumers/predictor/rows.ts';
import type { Prediction } from '../../../../../../lib/domain/events.ts';
import { addDays } from '../../../../../../lib/domain/time.ts';
import { regressionReport } from '../../../../../../lib/ml/metrics.ts';
import { loadMigrations, migrate } from '../../../../../../lib/platform/clickhouse/migrate.ts';
import {
  r2Of,
  regressionQuality,
} from '../../../../../../lib/platform/clickhouse/queries/regression-quality.ts';
import { chdbRunner } from '../../../../../support/chdb.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../../../schemas/clickhouse/', import.meta.url));

let session: Session;
let ch: ReturnType<typeof chdbRunner>;
const pairs: { location: string; date: string; predicted: number; actual: number }[] = [];

beforeAll(async () => {
  session = new Session();
  session.query('CREATE DATABASE IF NOT EXISTS rs_regression');
  session.query('USE rs_regression');
  ch = chdbRunner(session);
  await migrate(ch, await loadMigrations(MIGRATIONS_DIR));
  const predictions: object[] = [];
  const actuals: object[] = [];
  let seed = 3;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const location of ['Sydney', 'Perth']) {
    for (let d = 0; d < 200; d++) {
      const date = addDays('2016-10-01', d);
      const actual = 20 + 10 * Math.sin(d / 30) + (location === 'Perth' ? 3 : 0);
      const predicted = actual + (random() - 0.5) * 4;
      const base: Prediction = {
        task: 'max_temp',
        location,
        date,
        probability: 0,
        value: predicted,
        decision: false,
        threshold: 0,
        modelVersion: d < 100 ? 'max_temp-gbdt-a' : 'max_temp-gbdt-b',
        featureSetVersion: 'fs1',
        values: [],
        rainToday: null,
        rainfall: null,
        ingestedAt: 0,
        predictedAt: 0,
      };
      predictions.push(predictionRow(base, 1));
      // Rain's prediction and outcome of the same station-day: never in max_temp's figures.
      predictions.push(predictionRow({ ...base, task: 'rain', probability: 0.4, value: null }, 1));
      const joined = d % 10 !== 0;
      const outcome = {
        location,
        date,
        status: joined ? ('joined' as const) : ('missing' as const),
        reason: joined ? null : ('gap' as const),
        rainTomorrow: false,
        rainfallTomorrowMm: 0,
      };
      actuals.push(actualRow({ ...outcome, task: 'max_temp', actualValue: joined ? actual : null }, 0, 1));
      actuals.push(actualRow({ ...outcome, task: 'rain', actualValue: null }, 0, 1));
      if (joined) pairs.push({ location, date, predicted, actual });
    }
  }
  await ch.insertJson('predictions', predictions);
  await ch.insertJson('actuals', actuals);
});

afterAll(() => session.close());

const engine = (rows: typeof pairs) =>
  regressionReport(
    Float64Array.from(rows, (p) => p.actual),
    Float64Array.from(rows, (p) => p.predicted),
  );

describe('regression quality on ClickHouse 26.x (chDB)', () => {
  it('matches the engine overall: R², RMSE and MAE of the joined forecasts only', async () => {
    const [all] = await regressionQuality(ch, 'max_temp', 'overall', {});
    const expected = engine(pairs);
    expect(all!.n).toBe(pairs.length);
    expect(all!.r2).toBeCloseTo(expected.r2, 9);
    expect(all!.rmse).toBeCloseTo(expected.rmse, 9);
    expect(all!.mae).toBeCloseTo(expected.mae, 9);
  });

  it('answers per station and per season, each bucket as the engine scores its pairs', async () => {
    const perStation = await regressionQuality(ch, 'max_temp', 'location', {});
    expect(perStation.map((r) => r.bucket)).toEqual(['Perth', 'Sydney']);
    for (const r of perStation) {
      const e = engine(pairs.filter((p) => p.location === r.bucket));
      expect(r.r2).toBeCloseTo(e.r2, 9);
      expect(r.mae).toBeCloseTo(e.mae, 9);
    }
    const perSeason = await regressionQuality(ch, 'max_temp', 'season', {});
    expect(perSeason.reduce((n, r) => n + r.n, 0)).toBe(pairs.length);
    expect(perSeason.map((r) => r.bucket).sort()).toEqual(['autumn', 'spring', 'summer']);
  });

  it('filters by station, dates and model; a task without forecasts has no rows', async () => {
    const [one] = await regressionQuality(ch, 'max_temp', 'overall', {
      location: 'Perth',
      from: '2016-11-01',
      to: '2016-11-30',
      modelVersion: 'max_temp-gbdt-a',
    });
    const expected = pairs.filter(
      (p) => p.location === 'Perth' && p.date >= '2016-11-01' && p.date <= '2016-11-30',
    );
    expect(one!.n).toBe(expected.length);
    expect(await regressionQuality(ch, 'rain', 'overall', {})).toEqual([]);
  });

  it('has no R² for a bucket whose actual values do not vary', () => {
    expect(r2Of(1, 0)).toBeNaN();
    expect(r2Of(1, 4)).toBe(0.75);
  });
});
