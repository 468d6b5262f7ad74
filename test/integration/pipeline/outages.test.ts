/**
 * Outages and bad records on the real stack. ClickHouse and Redis are reached through TCP proxies that the
 * test cuts off and restores (the connections reset, the port refuses), so the shared services keep
 * running for everyone else. The stages must wait an outage out (not ready meanwhile), resume by
 * themselves, and end with exactly one output per input on every topic; a record whose step fails goes to
 * the DLQ with the stage, the reason and its source position, and the batch goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventCodec, FeatureVector } from '../../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../lib/domain/features/feature-set.ts';
import { readWeatherCsvFile, type CsvRow } from '../../../lib/domain/weather/csv.ts';
import { DEFAULT_DATA_FILE, loadConfig, type Config } from '../../../lib/platform/config.ts';
import type { Producer } from '../../../lib/platform/kafka/client.ts';
import { readDlqHeaders } from '../../../lib/platform/kafka/dlq.ts';
import { createProducer, sendBounded } from '../../../lib/platform/kafka/producer.ts';
import { startPipeline, type Pipeline } from '../../../consumers/host/pipeline.ts';
import { DLQ_HEADERS } from '../../../lib/platform/kafka/dlq.ts';
import { createHealth, type Health } from '../../../lib/platform/health.ts';
import { planReplay } from '../../../producers/replay/plan.ts';
import { replay, type ReplayOptions } from '../../../producers/replay/replay.ts';
import { pollUntil, testContext, type TestContext } from '../../support/integration.ts';
import { countKeys, keysOn } from '../../support/pipeline-process.ts';
import { hostPortOf, startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';

const OPTIONS: ReplayOptions = {
  locations: ['Albury', 'Darwin', 'Hobart', 'Perth'],
  from: '2012-01-01',
  to: '2012-04-30',
  speed: 40,
  quiet: true,
};

describe('outages waited out, bad records isolated', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let producer: Producer;
  let rows: CsvRow[];
  let clickhouseProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let config: Config;
  let health: Health;
  let pipeline: Pipeline | null = null;
  let events = 0;

  const count = async (sql: string) => Number((await ctx.clickhouse.rows<{ n: string }>(sql))[0]!.n);
  const notReady = (component: string) => () => health.snapshot().components[component]?.ready === false;

  beforeAll(async () => {
    ctx = await testContext('outages');
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    producer = createProducer(ctx.kafka);
    await producer.connect();
    rows = await readWeatherCsvFile(DEFAULT_DATA_FILE);
    events = planReplay(rows, OPTIONS).events;
    clickhouseProxy = await startTcpProxy(hostPortOf(ctx.config.clickhouse.url));
    redisProxy = await startTcpProxy(hostPortOf(ctx.config.redis.url));
    config = loadConfig({
      ...ctx.env,
      CLICKHOUSE_URL: `http://127.0.0.1:${clickhouseProxy.port}`,
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      RETRAIN_ENABLED: 'false',
    });
    health = createHealth();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await producer?.disconnect();
    await clickhouseProxy?.close();
    await redisProxy?.close();
    await ctx?.cleanup();
  });

  it('waits for ClickHouse at start instead of exiting, and starts once it answers', async () => {
    await clickhouseProxy.cut();
    const starting = startPipeline(config, ctx.logger, ['features', 'predictor', 'labeler'], { health });
    await pollUntil(notReady('dependency:clickhouse'), { what: 'the start-up to wait for ClickHouse' });
    await clickhouseProxy.restore();
    pipeline = await starting;
    await pollUntil(() => health.snapshot().ready, { timeoutMs: 60_000, what: 'every component ready' });
  });

  it('waits out ClickHouse and Redis outages mid-stream, then ends with one output per input', async () => {
    // The slice goes in three parts, each sent once the previous outage is under way or over, so every
    // outage meets records to process: a stage notices an outage only when a batch needs the service, and
    // a replay that had ended before the cut (a fast machine, or a stage that caught up at once) would
    // leave nothing to notice it with.
    const send = (from: string, to: string) =>
      replay(
        rows,
        'slice',
        { ...OPTIONS, from, to },
        {
          producer,
          codec,
          topics: ctx.config.topics,
          logger: ctx.logger,
        },
      );
    await send('2012-01-01', '2012-02-15');
    await pollUntil(
      async () => (await count(`SELECT count() AS n FROM predictions WHERE task = 'rain'`)) > 0,
      {
        what: 'the first predictions',
      },
    );
    await clickhouseProxy.cut();
    await send('2012-02-16', '2012-03-15');
    await pollUntil(notReady('stage:predictor'), {
      timeoutMs: 60_000,
      what: 'the predictor to wait for ClickHouse',
    });
    await clickhouseProxy.restore();
    await redisProxy.cut();
    await send('2012-03-16', '2012-04-30');
    await pollUntil(notReady('stage:features'), {
      timeoutMs: 60_000,
      what: 'the features stage to wait for Redis',
    });
    await redisProxy.restore();
    await pollUntil(
      async () => (await count(`SELECT count() AS n FROM predictions FINAL WHERE task = 'rain'`)) === events,
      {
        timeoutMs: 90_000,
        what: `${events} predictions`,
      },
    );
    await pollUntil(() => health.snapshot().ready, {
      timeoutMs: 60_000,
      what: 'every component ready again',
    });
    const features = countKeys(await keysOn(ctx.kafka, codec, ctx.config.topics.features, 'features'));
    const predictions = countKeys(
      await keysOn(ctx.kafka, codec, ctx.config.topics.predictions, 'prediction'),
    );
    expect(features).toEqual({ records: events, keys: events, duplicated: 0 });
    expect(predictions).toEqual({ records: events, keys: events, duplicated: 0 });
    // The label join may still be writing when the predictions are all in: the topic is read again on
    // every poll, so the comparison is with what the labeler has committed by then, not a stale snapshot
    // that ClickHouse would overtake.
    let labeled = { records: -1, keys: 0, duplicated: 0 };
    await pollUntil(
      async () => {
        labeled = countKeys(await keysOn(ctx.kafka, codec, ctx.config.topics.labeled, 'labeled'));
        const stored = await count(`SELECT count() AS n FROM labeled_examples FINAL WHERE task = 'rain'`);
        return labeled.records > 0 && stored === labeled.records;
      },
      // The label join has every task's predictions to join (twice rain's), after the outages' backoff.
      { timeoutMs: 90_000, what: 'every labeled example in ClickHouse' },
    );
    expect(labeled.duplicated).toBe(0);
  });

  it('sends a record whose step fails to the DLQ with the stage and its source, and goes on', async () => {
    const good: FeatureVector = {
      location: 'Uluru',
      date: '2012-06-01',
      featureSetVersion: FEATURE_SET_VERSION,
      values: FEATURE_NAMES.map(() => 0.5),
      rainToday: false,
      rainfall: 0,
      ingestedAt: Date.now(),
    };
    const bad: FeatureVector = { ...good, date: '2012-06-02', featureSetVersion: 'no-such-feature-set' };
    const after: FeatureVector = { ...good, date: '2012-06-03' };
    await sendBounded(
      producer,
      ctx.config.topics.features,
      [good, bad, after].map((fv) => ({ key: fv.location, value: codec.encode('features', fv) })),
    );
    await sendBounded(producer, ctx.config.topics.observations, [
      { key: 'Zzz-garbage', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
    ]);
    const dlq = await ctx.consume(ctx.config.topics.observationsDlq, 2, { timeoutMs: 60_000 });
    const byStage = new Map(dlq.map((r) => [String(r.headers[DLQ_HEADERS.stage]), r]));
    const predictor = readDlqHeaders(byStage.get('predictor')!.headers);
    expect(predictor.reason).toContain('FEATURE_SET_MISMATCH');
    expect(predictor.sourceTopic).toBe(ctx.config.topics.features);
    expect(Number(predictor.sourceOffset)).toBeGreaterThanOrEqual(0);
    expect(readDlqHeaders(byStage.get('features')!.headers).reason).toContain('DECODE');
    // The records around the bad one were predicted.
    await pollUntil(
      async () =>
        (await count(
          `SELECT count() AS n FROM predictions FINAL WHERE task = 'rain' AND location = 'Uluru'`,
        )) === 2,
      { what: 'the good neighbours of the bad record' },
    );
  });
});
