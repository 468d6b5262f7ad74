/**
 * Two pipeline processes in the same consumer groups, as scale-out runs them: a second one joins
 * mid-stream (the partitions are split, each moved partition's transactional producer fences the old
 * owner), then the first leaves with SIGTERM and the second is SIGKILLed and replaced. Every input must
 * end up with exactly one output on every topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventCodec } from '../../../lib/domain/events.ts';
import { readWeatherCsvFile, type CsvRow } from '../../../lib/domain/weather/csv.ts';
import { DEFAULT_DATA_FILE } from '../../../lib/platform/config.ts';
import type { Producer } from '../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import { waitForDrain } from '../../../lib/deployment/drain.ts';
import { planReplay } from '../../../producers/replay/plan.ts';
import { replay, type ReplayOptions } from '../../../producers/replay/replay.ts';
import { pollUntil, testContext, type TestContext } from '../../support/integration.ts';
import {
  countKeys,
  keysOn,
  startPipelineProcess,
  type PipelineProcess,
} from '../../support/pipeline-process.ts';

const OPTIONS: ReplayOptions = {
  locations: ['Albury', 'Cairns', 'Darwin', 'Hobart', 'Perth', 'Sydney'],
  from: '2014-01-01',
  to: '2014-06-30',
  speed: 25,
  quiet: true,
};
const STAGES = ['features', 'predictor', 'labeler'];

describe('two processes in the same groups', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let producer: Producer;
  let rows: CsvRow[];
  const processes: PipelineProcess[] = [];
  let events = 0;

  const count = async (sql: string) => Number((await ctx.clickhouse.rows<{ n: string }>(sql))[0]!.n);
  const start = async () => {
    const p = await startPipelineProcess({ env: { ...ctx.env, RETRAIN_ENABLED: 'false' }, stages: STAGES });
    processes.push(p);
    await p.waitReady(90_000);
    return p;
  };

  beforeAll(async () => {
    ctx = await testContext('scale-out');
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    producer = createProducer(ctx.kafka);
    await producer.connect();
    rows = await readWeatherCsvFile(DEFAULT_DATA_FILE);
    events = planReplay(rows, OPTIONS).events;
  });

  afterAll(async () => {
    for (const p of processes) await p.kill('SIGTERM');
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  it('splits, hands over and takes back partitions without losing or duplicating a record', async () => {
    const first = await start();
    const replaying = replay(rows, 'slice', OPTIONS, {
      producer,
      codec,
      topics: ctx.config.topics,
      logger: ctx.logger,
    });
    const third = Math.ceil(events / 3);
    await pollUntil(
      async () => (await count(`SELECT count() AS n FROM predictions WHERE task = 'rain'`)) >= third / 2,
      {
        timeoutMs: 60_000,
        what: 'the first predictions',
      },
    );
    const second = await start();
    await pollUntil(
      async () => (await count(`SELECT count() AS n FROM predictions WHERE task = 'rain'`)) >= third,
      {
        timeoutMs: 60_000,
        what: 'a third of the predictions',
      },
    );
    expect(await first.kill('SIGTERM')).toBe(0);
    await pollUntil(
      async () => (await count(`SELECT count() AS n FROM predictions WHERE task = 'rain'`)) >= 2 * third,
      {
        timeoutMs: 60_000,
        what: 'two thirds of the predictions',
      },
    );
    await second.kill('SIGKILL');
    await start();
    await replaying;
    await waitForDrain(ctx.clickhouse, { predictions: events, stallMs: 60_000 });

    expect(await count(`SELECT count() AS n FROM predictions FINAL WHERE task = 'rain'`)).toBe(events);
    const features = countKeys(await keysOn(ctx.kafka, codec, ctx.config.topics.features, 'features'));
    const predictions = countKeys(
      await keysOn(ctx.kafka, codec, ctx.config.topics.predictions, 'prediction'),
    );
    const labeled = countKeys(await keysOn(ctx.kafka, codec, ctx.config.topics.labeled, 'labeled'));
    expect(features).toEqual({ records: events, keys: events, duplicated: 0 });
    expect(predictions).toEqual({ records: events, keys: events, duplicated: 0 });
    expect(labeled.duplicated).toBe(0);
    expect(labeled.records).toBe(
      await count(`SELECT count() AS n FROM labeled_examples FINAL WHERE task = 'rain'`),
    );
  });
});
