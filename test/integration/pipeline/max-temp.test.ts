/**
 * The second task on the real stack (Kafka, schema registry, ClickHouse 18.16, Redis; no mocks): a slice
 * of 4 stations of different climates over 15 months replayed through every stage as the demo replays,
 * at most 7 days ahead of the weekly retraining of both tasks (the replay's training gate). Every
 * observation gets a rain forecast and a max-temperature forecast; each max_temp forecast is labeled with
 * the next day's MaxTemp; the trainer trains max_temp every week beside rain, records its runs under its
 * task and promotes a max_temp champion through its own gates (R² >= 0.7 and better than the champion);
 * the API serves it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSettingsOf, buildApp } from '../../../api/app.ts';
import { startPipeline, type Pipeline } from '../../../consumers/host/pipeline.ts';
import { waitForDrain } from '../../../lib/deployment/drain.ts';
import type { EventCodec } from '../../../lib/domain/events.ts';
import { addDays } from '../../../lib/domain/time.ts';
import { readWeatherCsvFile, type CsvRow } from '../../../lib/domain/weather/csv.ts';
import { fixedChampionSource, priorChampion } from '../../../lib/models/champion.ts';
import { TASKS } from '../../../lib/models/tasks.ts';
import { createClickHouse } from '../../../lib/platform/clickhouse/client.ts';
import { modelOfAlias } from '../../../lib/platform/clickhouse/queries/models.ts';
import { DEFAULT_DATA_FILE } from '../../../lib/platform/config.ts';
import type { Producer } from '../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import { readToEnd } from '../../../lib/platform/kafka/read-to-end.ts';
import { createRedis } from '../../../lib/platform/redis.ts';
import { trainingGate } from '../../../producers/replay/gate.ts';
import { lagProbe, restGroups } from '../../../lib/deployment/consumer-groups.ts';
import { replay, type ReplayOptions } from '../../../producers/replay/replay.ts';
import { pollUntil, testContext, type TestContext } from '../../support/integration.ts';

// Stations of different climates: R² on an 8-week validation window measures the spread between them as
// well as the weather of each (4 similar coastal cities over late 2010 give R² about 0.47: the gate keeps
// the persistence prior there).
const STATIONS = ['Darwin', 'Hobart', 'AliceSprings', 'Sydney'];
const OPTIONS: ReplayOptions = {
  locations: STATIONS,
  from: '2010-01-01',
  to: '2011-03-31',
  maxLeadDays: 7,
  speed: 0,
  quiet: true,
};

describe('the max_temp task end to end', () => {
  let ctx: TestContext;
  let pipeline: Pipeline;
  let producer: Producer;
  let codec: EventCodec;
  let rows: CsvRow[];
  let valid: { location: string; date: string; maxTemp: number | null }[];
  let events = 0;

  beforeAll(async () => {
    ctx = await testContext('maxtemp');
    const config = {
      ...ctx.config,
      pipeline: {
        ...ctx.config.pipeline,
        retrainMinRows: 300,
        tasks: ['rain' as const, 'max_temp' as const],
      },
    };
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    rows = await readWeatherCsvFile(DEFAULT_DATA_FILE);
    valid = rows.flatMap((r) =>
      r.ok &&
      STATIONS.includes(r.observation.location) &&
      r.observation.date >= OPTIONS.from! &&
      r.observation.date <= OPTIONS.to!
        ? [{ location: r.observation.location, date: r.observation.date, maxTemp: r.observation.maxTemp }]
        : [],
    );
    pipeline = await startPipeline(config, ctx.logger);
    producer = createProducer(ctx.kafka);
    await producer.connect();
    const upToLabels = lagProbe(ctx.kafka, restGroups(config, 'labeler'));
    try {
      const summary = await replay(rows, 'slice.csv', OPTIONS, {
        producer,
        codec,
        topics: ctx.config.topics,
        logger: ctx.logger,
        // The demo's gate: every week of both tasks is trained before the replay goes more than 7 days on.
        waitForTraining: trainingGate(ctx.clickhouse, 7, {
          pipelineIdle: upToLabels.idle,
          timeoutMs: 120_000,
          tasks: config.pipeline.tasks,
        }),
      });
      events = summary.events;
    } finally {
      await upToLabels.close();
    }
    await waitForDrain(ctx.clickhouse, { predictions: events, stallMs: 60_000 });
  }, 600_000);

  afterAll(async () => {
    await producer?.disconnect();
    await pipeline?.stop();
    await ctx?.cleanup();
  });

  const count = async (sql: string) => Number((await ctx.clickhouse.rows<{ n: string }>(sql))[0]!.n);

  it('predicts both tasks for every observation, on one topic, each row under its task', async () => {
    expect(events).toBe(valid.length);
    const onTopic = await readToEnd(ctx.kafka, ctx.config.topics.predictions);
    expect(onTopic).toHaveLength(2 * valid.length);
    const decoded = await Promise.all(onTopic.map((r) => codec.decode('prediction', r.value!)));
    expect(decoded.filter((p) => p.task === 'max_temp')).toHaveLength(valid.length);
    for (const p of decoded.filter((d) => d.task === 'max_temp').slice(0, 50)) {
      expect(Number.isFinite(p.value)).toBe(true);
      expect(p.probability).toBe(0);
    }
    expect(await count(`SELECT count() AS n FROM predictions FINAL WHERE task = 'rain'`)).toBe(valid.length);
    expect(await count(`SELECT count() AS n FROM predictions FINAL WHERE task = 'max_temp'`)).toBe(
      valid.length,
    );
    expect(
      await count(`SELECT count() AS n FROM predictions FINAL WHERE task = 'max_temp' AND isNull(value)`),
    ).toBe(0);
  });

  it("labels each max_temp forecast with the next day's MaxTemp", async () => {
    const byDay = new Map(valid.map((v) => [`${v.location}|${v.date}`, v]));
    const expected = valid.filter((v) => {
      const next = byDay.get(`${v.location}|${addDays(v.date, 1)}`);
      return next !== undefined && next.maxTemp !== null;
    });
    expect(await count(`SELECT count() AS n FROM labeled_examples FINAL WHERE task = 'max_temp'`)).toBe(
      expected.length,
    );
    const sample = expected[40]!;
    const [row] = await ctx.clickhouse.rows<{ target: number; actual_value: number }>(
      `SELECT l.target AS target, a.actual_value AS actual_value
       FROM (SELECT location, date, target FROM labeled_examples FINAL WHERE task = 'max_temp') AS l
       ALL INNER JOIN (SELECT location, date, actual_value FROM actuals FINAL WHERE task = 'max_temp') AS a
       USING (location, date)
       WHERE location = '${sample.location}' AND date = '${sample.date}'`,
    );
    const next = byDay.get(`${sample.location}|${addDays(sample.date, 1)}`)!;
    expect(Number(row!.target)).toBeCloseTo(next.maxTemp!, 6);
    expect(Number(row!.actual_value)).toBeCloseTo(next.maxTemp!, 6);
  });

  it('trains max_temp weekly under its own task and promotes a max_temp champion that serves', async () => {
    const champion = await pollUntil(() => modelOfAlias(ctx.clickhouse, TASKS.max_temp.championAlias), {
      timeoutMs: 120_000,
      what: 'a trained max_temp champion',
    });
    expect(champion.task).toBe('max_temp');
    expect(['linreg', 'gbdt', 'forest']).toContain(champion.family);
    const metrics = JSON.parse(champion.metrics) as { task: string; r2: number };
    expect(metrics.task).toBe('regression');
    expect(metrics.r2).toBeGreaterThanOrEqual(0.7);
    expect(
      await count(`SELECT count() AS n FROM training_runs FINAL WHERE task = 'max_temp'`),
    ).toBeGreaterThan(0);
    expect(
      await count(
        `SELECT count() AS n FROM training_runs FINAL WHERE task = 'max_temp' AND run_id NOT LIKE 'max_temp:%'`,
      ),
    ).toBe(0);
    // The gate waited for both tasks: every week rain retrained, max_temp retrained too.
    const weeks = async (task: string) =>
      (
        await ctx.clickhouse.rows<{ w: string }>(
          `SELECT toString(week) AS w FROM training_runs FINAL WHERE task = '${task}' AND command_id = '' ORDER BY w`,
        )
      ).map((r) => r.w);
    // The last week's runs may still be recording when the replay has drained: polled until both are in.
    const same = await pollUntil(
      async () => {
        const [rain, maxTemp] = await Promise.all([weeks('rain'), weeks('max_temp')]);
        return rain.join() === maxTemp.join() ? rain : null;
      },
      { timeoutMs: 60_000, what: 'the same weekly runs for rain and max_temp' },
    );
    expect(same.length).toBeGreaterThan(40);
    // Rain's champion is not a regression model, and max_temp's versions are its own.
    const rain = await modelOfAlias(ctx.clickhouse, TASKS.rain.championAlias);
    expect(rain?.task).toBe('rain');
    expect(champion.version.startsWith('max_temp-')).toBe(true);
    // Forecasts after the promotion come from trained max_temp models.
    await pollUntil(
      () =>
        count(
          `SELECT count() AS n FROM predictions FINAL WHERE task = 'max_temp' AND model_version LIKE 'max_temp-%'`,
        ).then((n) => (n > 0 ? n : null)),
      { timeoutMs: 60_000, what: 'max_temp predictions by a trained model' },
    );
  });

  it("watches max_temp's champion for drift: its features against its own reference, its realized errors", async () => {
    // A promoted max_temp winner carries a drift reference of the regression kind.
    const referenced = await count(
      `SELECT count() AS n FROM models FINAL WHERE task = 'max_temp' AND status = 'promoted' AND reference LIKE '%"errors"%'`,
    );
    expect(referenced).toBeGreaterThan(0);
    // Weeks labeled under a referenced champion: realized RMSE and MAE beside its validation RMSE, no
    // estimate (no class probabilities), and per-station feature statistics of max_temp's own.
    const realized = await pollUntil(
      async () => {
        const rows = await ctx.clickhouse.rows<{ rmse: number; mae: number; reference_rmse: number | null }>(
          `SELECT rmse, mae, reference_rmse FROM drift_performance FINAL
           WHERE task = 'max_temp' AND station = '*' AND basis = 'realized' AND reference_rmse IS NOT NULL`,
        );
        return rows.length > 0 ? rows : null;
      },
      { timeoutMs: 120_000, what: "max_temp's realized weekly errors" },
    );
    for (const r of realized) {
      expect(r.rmse).toBeGreaterThan(0);
      expect(r.rmse).toBeLessThan(10);
      expect(r.mae).toBeLessThanOrEqual(r.rmse);
    }
    expect(
      await count(
        `SELECT count() AS n FROM drift_performance FINAL WHERE task = 'max_temp' AND basis = 'estimated'`,
      ),
    ).toBe(0);
    expect(
      await count(`SELECT count() AS n FROM drift_stations FINAL WHERE task = 'max_temp'`),
    ).toBeGreaterThan(0);
    expect(
      await count(`SELECT count() AS n FROM drift FINAL WHERE task = 'max_temp' AND kind = 'prediction'`),
    ).toBe(0);
  });

  it('answers the max_temp forecast, its quality per station and season, and its champion', async () => {
    const app = buildApp({
      redis: createRedis(ctx.config.redis),
      clickhouse: createClickHouse(ctx.config.clickhouse),
      champions: fixedChampionSource(priorChampion()),
      decisionThreshold: 0.5,
      settings: apiSettingsOf(ctx.config),
    });
    try {
      await app.ready();
      const forecast = await app.inject('/predict?task=max_temp&location=Sydney');
      expect(forecast.statusCode).toBe(200);
      const body = forecast.json();
      expect(body).toMatchObject({ task: 'max_temp', location: 'Sydney', unit: '°C' });
      expect(body.forecastFor).toBe(addDays(body.date, 1));
      expect(Number.isFinite(body.value)).toBe(true);
      const rain = await app.inject('/predict?location=Sydney');
      expect(rain.json()).toHaveProperty('probability');

      const unknown = await app.inject('/predict?task=wind&location=Sydney');
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json()).toMatchObject({ field: 'task', reason: 'must be one of rain, max_temp' });
      const threshold = await app.inject('/predict?task=max_temp&location=Sydney&threshold=0.4');
      expect(threshold.statusCode).toBe(400);
      expect(threshold.json()).toMatchObject({ field: 'threshold' });

      const overall = (await app.inject('/quality?task=max_temp')).json();
      expect(overall).toMatchObject({ task: 'max_temp', groupBy: 'overall', unit: '°C' });
      expect(overall.rows).toHaveLength(1);
      const all = overall.rows[0];
      expect(all.n).toBeGreaterThan(0);
      expect(all.r2).toBeGreaterThan(0.5);
      expect(all.rmse).toBeGreaterThan(0);
      expect(all.mae).toBeLessThanOrEqual(all.rmse);
      const perStation = (await app.inject('/quality?task=max_temp&groupBy=location')).json();
      expect(perStation.rows.map((r: { bucket: string }) => r.bucket).sort()).toEqual([...STATIONS].sort());
      const perSeason = (await app.inject('/quality?task=max_temp&groupBy=season')).json();
      expect(perSeason.rows.reduce((n: number, r: { n: number }) => n + r.n, 0)).toBe(all.n);

      const champion = (await app.inject('/models/champion?task=max_temp')).json();
      expect(champion).toMatchObject({ source: 'registry', task: 'max_temp', alias: 'max_temp.champion' });
      expect(champion.model.task).toBe('max_temp');
      const listed = (await app.inject('/models?task=max_temp')).json();
      expect(listed.models.length).toBeGreaterThan(0);
      for (const m of listed.models) expect(m.task).toBe('max_temp');
    } finally {
      await app.close();
    }
  });
});
