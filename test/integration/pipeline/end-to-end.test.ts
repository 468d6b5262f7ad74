/**
 * The whole pipeline on the real stack, on a slice: 4 stations over 2 years, plus invalid rows. Every
 * valid observation yields one feature vector and one prediction; labels join where the next day exists;
 * a retraining promotes a model that later predictions use; drift rows appear; invalid rows are in the
 * DLQ with their reasons; a second replay of the same slice changes nothing in ClickHouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDlqHeaders } from '../../../lib/platform/kafka/dlq.ts';
import { readToEnd } from '../../../lib/platform/kafka/read-to-end.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import type { Producer } from '../../../lib/platform/kafka/client.ts';
import { addDays } from '../../../lib/domain/time.ts';
import { parseWeatherCsv, readWeatherCsvFile, type CsvRow } from '../../../lib/domain/weather/csv.ts';
import { startPipeline, type Pipeline } from '../../../consumers/host/pipeline.ts';
import { replay, type ReplayOptions } from '../../../producers/replay/replay.ts';
import { waitForDrain } from '../../../lib/deployment/drain.ts';
import { pollUntil, testContext, type TestContext } from '../../support/integration.ts';
import type { EventCodec } from '../../../lib/domain/events.ts';
import { championPoller } from '../../../producers/replay/gate.ts';
import { DEFAULT_DATA_FILE } from '../../../lib/platform/config.ts';

const DATA = DEFAULT_DATA_FILE;
const STATIONS = ['Sydney', 'Melbourne', 'Brisbane', 'Perth'];
const OPTIONS: ReplayOptions = {
  locations: STATIONS,
  from: '2010-01-01',
  to: '2011-12-31',
  warmupUntil: '2010-12-31',
  speed: 400,
  quiet: true,
};
const HEADER =
  'Date,Location,MinTemp,MaxTemp,Rainfall,Evaporation,Sunshine,WindGustDir,WindGustSpeed,WindDir9am,WindDir3pm,WindSpeed9am,WindSpeed3pm,Humidity9am,Humidity3pm,Pressure9am,Pressure3pm,Cloud9am,Cloud3pm,Temp9am,Temp3pm,RainToday,RainTomorrow';
const INVALID = [
  '2010-03-01,Sydney,13.4,22.9,0.6,NA,NA,W,44,W,WNW,20,24,71,150,1007.7,1007.1,8,NA,16.9,21.8,No,No',
  '2010-03-01,Perth,13.4,22.9,0.6,NA,NA,NORTHISH,44,W,WNW,20,24,71,22,1007.7,1007.1,8,NA,16.9,21.8,No,No',
  '2010-02-30,Brisbane,13.4,22.9,0.6,NA,NA,W,44,W,WNW,20,24,71,22,1007.7,1007.1,8,NA,16.9,21.8,No,No',
];

describe('pipeline end to end', () => {
  let ctx: TestContext;
  let pipeline: Pipeline;
  let producer: Producer;
  let codec: EventCodec;
  let rows: CsvRow[];
  let valid: { location: string; date: string; rainToday: boolean | null }[];
  let events = 0;

  const replayOnce = () =>
    replay(rows, 'slice.csv', OPTIONS, {
      producer,
      codec,
      topics: ctx.config.topics,
      logger: ctx.logger,
      waitForTrainedChampion: championPoller(ctx.clickhouse, { intervalMs: 200, timeoutMs: 120_000 }),
    });

  beforeAll(async () => {
    ctx = await testContext('e2e');
    const config = { ...ctx.config, pipeline: { ...ctx.config.pipeline, retrainMinRows: 300 } };
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    rows = [...(await readWeatherCsvFile(DATA)), ...parseWeatherCsv([HEADER, ...INVALID].join('\n'))];
    valid = rows.flatMap((r) =>
      r.ok &&
      STATIONS.includes(r.observation.location) &&
      r.observation.date >= OPTIONS.from! &&
      r.observation.date <= OPTIONS.to!
        ? [{ location: r.observation.location, date: r.observation.date, rainToday: r.observation.rainToday }]
        : [],
    );
    pipeline = await startPipeline(config, ctx.logger);
    producer = createProducer(ctx.kafka);
    await producer.connect();
    const summary = await replayOnce();
    events = summary.events;
    expect(summary.rejected).toBe(INVALID.length);
    await waitForDrain(ctx.clickhouse, { predictions: events, stallMs: 60_000 });
  }, 300_000);

  afterAll(async () => {
    await producer?.disconnect();
    await pipeline?.stop();
    await ctx?.cleanup();
  });

  const count = async (sql: string) => Number((await ctx.clickhouse.rows<{ n: string }>(sql))[0]!.n);

  it('turns every valid observation into one feature vector and one prediction', async () => {
    expect(events).toBe(valid.length);
    // Read committed, as every stage reads: end offsets also count transaction markers.
    expect(await readToEnd(ctx.kafka, ctx.config.topics.features)).toHaveLength(valid.length);
    expect(await count(`SELECT count() AS n FROM predictions FINAL WHERE task = 'rain'`)).toBe(valid.length);
    expect(
      await count(
        `SELECT count() AS n FROM (SELECT location, date FROM predictions WHERE task = 'rain' GROUP BY location, date)`,
      ),
    ).toBe(valid.length);
  });

  it('joins a label to every prediction whose next day exists with a known RainToday', async () => {
    const seen = new Map(valid.map((v) => [`${v.location}|${v.date}`, v]));
    const expected = valid.filter((v) => {
      const next = seen.get(`${v.location}|${addDays(v.date, 1)}`);
      return next !== undefined && next.rainToday !== null;
    }).length;
    expect(await count(`SELECT count() AS n FROM labeled_examples FINAL WHERE task = 'rain'`)).toBe(expected);
    expect(
      await count(`SELECT count() AS n FROM actuals FINAL WHERE task = 'rain' AND status = 'joined'`),
    ).toBe(expected);
    // The labeled topic carries every task's examples (max_temp's too): rain's are one per label.
    const labeledTopic = await readToEnd(ctx.kafka, ctx.config.topics.labeled);
    const tasks = await Promise.all(
      labeledTopic.map(async (r) => (await codec.decode('labeled', r.value!)).task),
    );
    expect(tasks.filter((t) => t === 'rain')).toHaveLength(expected);
  });

  it('retrains, promotes, and later predictions carry the promoted version', async () => {
    const promoted = await ctx.clickhouse.rows<{ version: string }>(
      `SELECT version FROM models FINAL WHERE status = 'promoted' ORDER BY version`,
    );
    expect(promoted.length).toBeGreaterThan(0);
    const runs = await count('SELECT count() AS n FROM training_runs FINAL');
    expect(runs).toBeGreaterThan(0);
    const later = await count(
      `SELECT count() AS n FROM predictions FINAL WHERE task = 'rain' AND model_version != 'prior-climatology' AND date > '${OPTIONS.warmupUntil}'`,
    );
    expect(later).toBeGreaterThan(0);
    const versions = await ctx.clickhouse.rows<{ v: string }>(
      `SELECT DISTINCT model_version AS v FROM predictions FINAL WHERE task = 'rain' AND model_version != 'prior-climatology'`,
    );
    for (const { v } of versions) expect(promoted.map((p) => p.version)).toContain(v);
  });

  it('writes weekly drift rows, per station too, and the performance estimate beside the realized one', async () => {
    const drift = await pollUntil(() => count('SELECT count() AS n FROM drift FINAL'), {
      what: 'drift rows',
    });
    expect(drift).toBeGreaterThan(0);
    expect(
      await count(`SELECT count() AS n FROM drift FINAL WHERE kind = 'prediction' AND statistic = 'psi'`),
    ).toBeGreaterThan(0);
    expect(await count(`SELECT count() AS n FROM drift_stations FINAL`)).toBeGreaterThan(0);
    const bases = await ctx.clickhouse.rows<{ basis: string }>(
      `SELECT DISTINCT basis FROM drift_performance FINAL ORDER BY basis`,
    );
    expect(bases.map((b) => b.basis)).toEqual(['estimated', 'realized']);
  });

  it('sends invalid rows to the DLQ with the field and the reason', async () => {
    const records = await ctx.consume(ctx.config.topics.observationsDlq, INVALID.length);
    const reasons = records
      .map((r) => readDlqHeaders(r.headers))
      .sort((a, b) => a.field.localeCompare(b.field));
    expect(reasons.map((r) => r.field)).toEqual(['Date', 'Humidity3pm', 'WindGustDir']);
    for (const r of reasons) expect(r.reason.length).toBeGreaterThan(5);
  });

  it('leaves ClickHouse unchanged when the same slice is replayed again', async () => {
    const snapshot = async () =>
      ctx.clickhouse.rows(
        `SELECT (SELECT count() FROM predictions FINAL WHERE task = 'rain') AS p, (SELECT count() FROM actuals FINAL WHERE task = 'rain') AS a,
           (SELECT count() FROM labeled_examples FINAL WHERE task = 'rain') AS l,
           (SELECT sum(probability) FROM predictions FINAL WHERE task = 'rain') AS s`,
      );
    const before = await snapshot();
    // A re-delivered day is a duplicate while it is inside the station's window, late once older.
    const refused = () => {
      const c = pipeline.metrics.snapshot().counters;
      return (c['features_events{outcome=duplicate}'] ?? 0) + (c['features_events{outcome=late}'] ?? 0);
    };
    const refusedBefore = refused();
    await replayOnce();
    await pollUntil(() => refused() - refusedBefore >= events, {
      timeoutMs: 60_000,
      what: 'the second replay to reach the features stage',
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}; counters: ${JSON.stringify(pipeline.metrics.snapshot().counters)}`);
    });
    expect(await snapshot()).toEqual(before);
  });
});
