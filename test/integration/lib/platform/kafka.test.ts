import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import { ensureTopics } from '../../../../lib/platform/kafka/admin.ts';
import type { ConsumedRecord } from '../../../../lib/platform/kafka/consumer.ts';
import { readDlqHeaders, sendToDlq } from '../../../../lib/platform/kafka/dlq.ts';
import { createProducer, sendBounded } from '../../../../lib/platform/kafka/producer.ts';
import { topicSpecs } from '../../../../lib/platform/kafka/topics.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';

let ctx: TestContext;
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(w.name);

beforeAll(async () => {
  process.on('warning', onWarning);
  ctx = await testContext('kafka');
});

afterAll(async () => {
  process.off('warning', onWarning);
  await ctx?.cleanup();
});

async function topicConfig(topic: string, name: string): Promise<string | undefined> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: [name] }],
    });
    return described.resources[0].configEntries.find((e) => e.configName === name)?.configValue;
  } finally {
    await admin.disconnect();
  }
}

describe('ensureTopics', () => {
  it('creates every topic with its partitions and configs, and a second run changes nothing', async () => {
    const first = await ctx.ensureTopics();
    expect(first.created.sort()).toEqual(Object.values(ctx.config.topics).sort());
    const second = await ctx.ensureTopics();
    expect(second).toEqual({
      created: [],
      existing: topicSpecs(ctx.config).map((s) => s.topic),
      reconfigured: [],
    });

    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [ctx.config.topics.observations] });
      expect(topics[0].partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
    expect(await topicConfig(ctx.config.topics.observations, 'retention.ms')).toBe('-1');
    expect(await topicConfig(ctx.config.topics.modelEvents, 'cleanup.policy')).toBe('compact');
    expect(await topicConfig(ctx.config.topics.observationsDlq, 'retention.ms')).toBe(
      String(30 * 86_400_000),
    );
  });

  it('puts a drifted config back to the spec', async () => {
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: 2,
            name: ctx.config.topics.features,
            configEntries: [{ name: 'retention.ms', value: '3600000' }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    // Config changes reach the broker's metadata asynchronously (KRaft): wait until the drift shows.
    const features = ctx.config.topics.features;
    await pollUntil(async () => (await topicConfig(features, 'retention.ms')) === '3600000', {
      what: 'drift',
    });
    const report = await ctx.ensureTopics();
    expect(report.reconfigured).toEqual([features]);
    await pollUntil(async () => (await topicConfig(features, 'retention.ms')) === '-1', {
      what: 'the spec again',
    });
  });

  it('refuses an existing topic whose partition count differs from the spec', async () => {
    const specs = topicSpecs({ ...ctx.config, topicPartitions: 5 }).filter(
      (s) => s.topic === ctx.config.topics.predictions,
    );
    const error = await ensureTopics(ctx.kafka, specs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RainstreamError);
    expect((error as RainstreamError).code).toBe('TOPIC_MISMATCH');
  });
});

describe('producer and consumer shell', () => {
  it('sends far more than 1 MB in one call, in bounded chunks, all acknowledged and in order', async () => {
    const producer = createProducer(ctx.kafka);
    await producer.connect();
    try {
      const messages = Array.from({ length: 3_000 }, (_, i) => ({
        key: 'one-key',
        value: Buffer.concat([Buffer.from(String(i).padStart(6, '0')), Buffer.alloc(994, 120)]),
      }));
      const metadata = await sendBounded(producer, ctx.config.topics.labeled, messages);
      expect(metadata.length).toBeGreaterThan(1); // several sends
      const records = await ctx.consume(ctx.config.topics.labeled, 3_000);
      expect(records).toHaveLength(3_000);
      expect(records.map((r) => Number(r.value!.subarray(0, 6).toString()))).toEqual(
        Array.from({ length: 3_000 }, (_, i) => i),
      );
    } finally {
      await producer.disconnect();
    }
  });

  it('waits a failing batch out without committing it; a stopped member leaves it to the next', async () => {
    const topic = ctx.config.topics.driftAlerts;
    const producer = createProducer(ctx.kafka);
    await producer.connect();
    await sendBounded(
      producer,
      topic,
      Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: `m${i}` })),
    );
    await producer.disconnect();

    const groupId = ctx.groupId('commit');
    let failedBatchStart = '';
    let calls = 0;
    let poisonCalls = 0;
    const reports: Array<[boolean, string | undefined]> = [];
    const first = await ctx.runConsumer({
      groupId,
      topics: [topic],
      fromBeginning: true,
      retry: { initialDelayMs: 10, maxDelayMs: 20 },
      health: (ready, reason) => reports.push([ready, reason]),
      handleBatch: async (records) => {
        calls++;
        // A retriable failure first, to prove it is retried in place.
        if (calls === 1) throw new RainstreamError('REDIS', 'blip');
        failedBatchStart = records[0].value!.toString();
        if (records.some((r) => r.value!.toString() === 'm20')) {
          poisonCalls++;
          throw new RainstreamError('VALIDATION', 'refuse m20');
        }
      },
    });
    // Never given up: the same batch is tried again and again, and the member says it is not ready.
    await pollUntil(() => poisonCalls >= 3, { what: 'the failing batch to be tried three times' });
    expect(reports.some(([ready, reason]) => !ready && reason?.includes('refuse m20'))).toBe(true);
    await first.stop();
    await expect(first.done).resolves.toBeUndefined();

    // Nothing of the failed batch was committed: a new member of the group gets it again.
    const again: ConsumedRecord[] = [];
    const second = await ctx.runConsumer({
      groupId,
      topics: [topic],
      fromBeginning: true,
      handleBatch: async (records) => {
        again.push(...records);
      },
    });
    await pollUntil(() => again.some((r) => r.value!.toString() === 'm29'), { what: 'm29 again' });
    await second.stop();
    expect(again.map((r) => r.value!.toString())).toContain('m20');
    expect(again[0].value!.toString()).toBe(failedBatchStart);
  });

  it('DLQs a record with its bytes, source position and reason headers', async () => {
    const producer = createProducer(ctx.kafka);
    await producer.connect();
    try {
      await sendBounded(producer, ctx.config.topics.observations, [
        { key: 'Albury', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]), headers: { origin: 'test' } },
      ]);
      const [source] = await ctx.consume(ctx.config.topics.observations, 1);
      await sendToDlq(producer, ctx.config.topics.observationsDlq, [
        {
          record: source,
          reason: new RainstreamError('DECODE', 'unknown magic byte 222'),
          field: '',
          kind: 'decode',
          stage: 'features',
        },
      ]);
      const [dlq] = await ctx.consume(ctx.config.topics.observationsDlq, 1);
      expect(dlq.key!.toString()).toBe('Albury');
      expect([...dlq.value!]).toEqual([0xde, 0xad, 0xbe, 0xef]);
      expect(dlq.headers.origin!.toString()).toBe('test');
      expect(readDlqHeaders(dlq.headers)).toEqual({
        reason: 'DECODE: unknown magic byte 222',
        field: '',
        kind: 'decode',
        stage: 'features',
        sourceTopic: ctx.config.topics.observations,
        sourcePartition: source.partition,
        sourceOffset: source.offset,
        conflicting: '',
        valueBytes: null,
        valueSha256: '',
      });
    } finally {
      await producer.disconnect();
    }
  });

  it('let no TimeoutNegativeWarning through while kafkajs ran', () => {
    expect(warnings).not.toContain('TimeoutNegativeWarning');
  });
});
