/**
 * The replay's checkpoint on the real Kafka: a run that stopped part-way (here: a limit), then a run with
 * --resume, leave every planned observation in the topic exactly once; and keys land on the partition the
 * checkpoint computes for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventCodec } from '../../../../lib/domain/events.ts';
import { readWeatherCsvFile, type CsvRow } from '../../../../lib/domain/weather/csv.ts';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../../lib/platform/kafka/producer.ts';
import { DEFAULT_DATA_FILE } from '../../../../lib/platform/config.ts';
import { readToEnd } from '../../../../lib/platform/kafka/read-to-end.ts';
import { createReplayLog, type ReplayLog } from '../../../../producers/replay/checkpoint.ts';
import { planReplay } from '../../../../producers/replay/plan.ts';
import { replay, type ReplayOptions } from '../../../../producers/replay/replay.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';
import { countKeys, keysOn } from '../../../support/pipeline-process.ts';

const OPTIONS: ReplayOptions = {
  locations: ['Albury', 'Darwin', 'Hobart', 'Perth', 'Sydney'],
  from: '2012-01-01',
  to: '2012-06-30',
  speed: 0,
  quiet: true,
};

describe('replay checkpoint and --resume', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let producer: Producer;
  let rows: CsvRow[];
  let replayLog: ReplayLog;

  beforeAll(async () => {
    ctx = await testContext('replay-resume');
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    producer = createProducer(ctx.kafka);
    await producer.connect();
    rows = await readWeatherCsvFile(DEFAULT_DATA_FILE);
    replayLog = await createReplayLog(ctx.kafka, codec, ctx.config.topics.observations);
  });

  afterAll(async () => {
    await replayLog?.close();
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  it('resumes where a stopped run left off, sending nothing twice', async () => {
    const planned = planReplay(rows, OPTIONS).events;
    const deps = { producer, codec, topics: ctx.config.topics, logger: ctx.logger, replayLog };
    const first = await replay(rows, 'slice', { ...OPTIONS, limit: 301 }, deps);
    expect(first.events).toBe(301);
    const second = await replay(rows, 'slice', { ...OPTIONS, resume: true }, deps);
    expect(second.alreadyInLog).toBe(301);
    expect(second.events).toBe(planned - 301);
    const keys = countKeys(await keysOn(ctx.kafka, codec, ctx.config.topics.observations, 'observation'));
    expect(keys).toEqual({ records: planned, keys: planned, duplicated: 0 });

    // A third run with --resume finds everything in the log.
    const third = await replay(rows, 'slice', { ...OPTIONS, resume: true }, deps);
    expect(third).toMatchObject({ events: 0, alreadyInLog: planned });
  });

  it('computes the partition the producer put each key on', async () => {
    const records = await readToEnd(ctx.kafka, ctx.config.topics.observations);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(replayLog.partitionOf(r.key!.toString())).toBe(r.partition);
  });
});
