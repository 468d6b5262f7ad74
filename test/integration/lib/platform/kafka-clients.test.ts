/**
 * The contract of lib/platform/kafka on both of its clients (KAFKA_CLIENT=kafkajs|platformatic), in the same
 * run: admin (topics, configs, offsets, groups), idempotent keyed produce on the Java client's partitions,
 * group consume with commits after the batch, and exactly once between topics (outputs and consumed offsets
 * in one transaction, an aborted transaction never seen, a group at rest with no lag).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../../../lib/platform/kafka/admin.ts';
import { createKafka, type Kafka, type KafkaClientKind } from '../../../../lib/platform/kafka/client.ts';
import { runBatchConsumer, type ConsumedRecord } from '../../../../lib/platform/kafka/consumer.ts';
import { partitionOfKey, createProducer, sendBounded } from '../../../../lib/platform/kafka/producer.ts';
import { readToEnd } from '../../../../lib/platform/kafka/read-to-end.ts';
import {
  commitTransaction,
  openTransaction,
  TransactionalProducers,
} from '../../../../lib/platform/kafka/transactions.ts';
import { createLogPositions } from '../../../../lib/platform/kafka/offsets.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await testContext('kafka-clients');
});

afterAll(async () => {
  await ctx?.cleanup();
});

const CLIENTS: KafkaClientKind[] = ['kafkajs', 'platformatic'];

describe.each(CLIENTS)('lib/platform/kafka on %s', (client) => {
  let kafka: Kafka;
  const topic = (name: string) => `${ctx.config.topics.observations}.${client}.${name}`;

  beforeAll(() => {
    kafka = createKafka({ kafka: { ...ctx.config.kafka, client } }, ctx.logger);
  });

  it('creates topics with configs, sets a drifted config back, and reads metadata and offsets', async () => {
    const spec = {
      topic: topic('admin'),
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: { 'retention.ms': '-1', 'cleanup.policy': 'delete' },
    };
    expect(await ensureTopics(kafka, [spec])).toMatchObject({ created: [spec.topic] });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name: spec.topic, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
      });
      expect(await ensureTopics(kafka, [spec])).toMatchObject({ reconfigured: [spec.topic] });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: spec.topic, configNames: ['retention.ms'] }],
      });
      expect(described.resources[0]!.configEntries[0]).toMatchObject({
        configName: 'retention.ms',
        configValue: '-1',
      });
      const { topics } = await admin.fetchTopicMetadata({ topics: [spec.topic] });
      expect(topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
      expect(await admin.listTopics()).toContain(spec.topic);
      const offsets = await admin.fetchTopicOffsets(spec.topic);
      expect(offsets.map((o) => [o.partition, o.low, o.high]).sort()).toEqual([
        [0, '0', '0'],
        [1, '0', '0'],
        [2, '0', '0'],
      ]);
      // A group's offsets, set and read back, then the group deleted.
      const groupId = ctx.groupId(`${client}-admin`);
      await admin.setOffsets({ groupId, topic: spec.topic, partitions: [{ partition: 1, offset: '0' }] });
      const [fetched] = await admin.fetchOffsets({ groupId, topics: [spec.topic] });
      expect(fetched!.partitions.find((p) => p.partition === 1)?.offset).toBe('0');
      expect(fetched!.partitions.find((p) => p.partition === 0)?.offset).toBe('-1');
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(groupId);
      await admin.deleteGroups([groupId]);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(groupId);
      expect((await admin.describeCluster()).brokers.length).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });

  it('produces keyed records idempotently onto the partitions the Java client picks, headers kept', async () => {
    const name = topic('keyed');
    await ensureTopics(kafka, [{ topic: name, numPartitions: 3, replicationFactor: 1, configEntries: {} }]);
    const producer = createProducer(kafka);
    await producer.connect();
    const keys = Array.from({ length: 30 }, (_, i) => `station-${i}`);
    try {
      await sendBounded(
        producer,
        name,
        keys.map((key, i) => ({ key, value: `v${i}`, headers: { seq: String(i), tag: ['a', 'b'] } })),
      );
    } finally {
      await producer.disconnect();
    }
    const records = await readToEnd(kafka, name);
    expect(records).toHaveLength(30);
    for (const r of records) {
      const key = r.key!.toString();
      expect(r.partition).toBe(partitionOfKey(key, 3));
      expect(r.value!.toString()).toBe(`v${keys.indexOf(key)}`);
      expect(r.headers.seq!.toString()).toBe(String(keys.indexOf(key)));
      expect([r.headers.tag].flat().map(String)).toEqual(['a', 'b']);
    }
  });

  it('consumes in a group and commits after each batch: a second member resumes after the first', async () => {
    const name = topic('group');
    await ensureTopics(kafka, [{ topic: name, numPartitions: 2, replicationFactor: 1, configEntries: {} }]);
    const producer = createProducer(kafka);
    await producer.connect();
    const send = (from: number, to: number) =>
      sendBounded(
        producer,
        name,
        Array.from({ length: to - from }, (_, i) => ({ key: `k${(from + i) % 5}`, value: String(from + i) })),
      );
    await send(0, 40);
    const groupId = ctx.groupId(`${client}-group`);
    const seen: ConsumedRecord[] = [];
    const run = () =>
      runBatchConsumer({
        kafka,
        logger: ctx.logger,
        groupId,
        topics: [name],
        fromBeginning: true,
        maxWaitTimeMs: 100,
        handleBatch: async (records) => {
          seen.push(...records);
        },
      });
    const first = await run();
    await pollUntil(() => seen.length >= 40, { what: '40 records' });
    await first.stop();
    await send(40, 60);
    const second = await run();
    await pollUntil(() => seen.length >= 60, { what: '60 records' });
    await second.stop();
    // Nothing read twice: the first member's commits held.
    expect(seen.map((r) => Number(r.value!.toString())).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    const positions = createLogPositions(kafka);
    try {
      const ends = await positions.ends(name);
      for (const [partition, { high }] of ends) {
        expect(await positions.committed(groupId, name, partition)).toBe(high);
      }
    } finally {
      await positions.close();
    }
  });

  it("counts offsets sent before the commit only if it commits: aborted, they are not the group's", async () => {
    const input = topic('early-in');
    const output = topic('early-out');
    await ensureTopics(kafka, [
      { topic: input, numPartitions: 1, replicationFactor: 1, configEntries: {} },
      { topic: output, numPartitions: 1, replicationFactor: 1, configEntries: {} },
    ]);
    const groupId = ctx.groupId(`${client}-early`);
    const producers = new TransactionalProducers({ kafka, groupId, topic: input, logger: ctx.logger });
    const positions = createLogPositions(kafka);
    try {
      const producer = await producers.producerFor(0);
      const position = { groupId, topic: input, partition: 0 };
      // Offsets first, then the outputs, then an abort (as a batch whose ClickHouse insert failed).
      const failed = await openTransaction(producer, 'early offsets, aborted');
      await failed.sendOffsets({ ...position, offset: '7' });
      await failed.send([{ topic: output, messages: [{ key: 'k', value: 'aborted' }] }]);
      expect(await failed.abort()).toBe(true);
      expect(await positions.committed(groupId, input, 0)).toBeNull();
      // The same order, committed: the offset and the record appear together.
      const done = await openTransaction(producer, 'early offsets, committed');
      await done.send([{ topic: output, messages: [{ key: 'k', value: 'committed' }] }]);
      await done.sendOffsets({ ...position, offset: '9' });
      await done.commit();
      expect(await positions.committed(groupId, input, 0)).toBe(9n);
      const out = await readToEnd(kafka, output);
      expect(out.map((r) => r.value!.toString())).toEqual(['committed']);
    } finally {
      await positions.close();
      await producers.close();
    }
  });

  it('commits outputs and consumed offsets in one transaction; an aborted one is never read', async () => {
    const input = topic('eos-in');
    const output = topic('eos-out');
    await ensureTopics(kafka, [
      { topic: input, numPartitions: 2, replicationFactor: 1, configEntries: {} },
      { topic: output, numPartitions: 2, replicationFactor: 1, configEntries: {} },
    ]);
    const producer = createProducer(kafka);
    await producer.connect();
    await sendBounded(
      producer,
      input,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: String(i) })),
    );
    await producer.disconnect();

    const groupId = ctx.groupId(`${client}-eos`);
    const producers = new TransactionalProducers({ kafka, groupId, topic: input, logger: ctx.logger });
    // A transaction of a previous owner of partition 0, aborted: its record must stay invisible.
    const zombie = await producers.producerFor(0);
    const aborted = await zombie.transaction();
    await aborted.send({ topic: output, messages: [{ key: 'k0', value: 'aborted' }] });
    await aborted.abort();

    let processed = 0;
    const running = await runBatchConsumer({
      kafka,
      logger: ctx.logger,
      groupId,
      topics: [input],
      fromBeginning: true,
      autoCommit: false,
      maxWaitTimeMs: 100,
      handleBatch: async (records, context) => {
        const p = await producers.producerFor(context.partition);
        await commitTransaction(
          p,
          [
            {
              topic: output,
              messages: records.map((r) => ({ key: r.key, value: `out-${r.value!.toString()}` })),
            },
          ],
          { groupId, topic: input, partition: context.partition, offset: context.nextOffset },
        );
        processed += records.length;
      },
    });
    // A new owner of partition 0 (another process: a client of its own) initialises the same id: the
    // previous owner can no longer commit anything.
    const successor = new TransactionalProducers({
      kafka: createKafka({ kafka: { ...ctx.config.kafka, client } }, ctx.logger),
      groupId,
      topic: input,
      logger: ctx.logger,
    });
    try {
      await pollUntil(() => processed >= 50, { what: '50 records processed' });
      await running.stop();
      const previous = await producers.producerFor(0);
      await successor.producerFor(0);
      await expect(
        commitTransaction(previous, [{ topic: output, messages: [{ key: 'k0', value: 'zombie' }] }], {
          groupId,
          topic: input,
          partition: 0,
          offset: '0',
        }),
      ).rejects.toMatchObject({ code: 'FENCED' });
    } finally {
      await running.stop();
      await producers.close();
      await successor.close();
    }
    const out = await readToEnd(kafka, output);
    expect(out.map((r) => r.value!.toString()).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `out-${i}`).sort(),
    );
    // The group committed past the last commit marker: at rest, no lag.
    const positions = createLogPositions(kafka);
    try {
      for (const [partition, { high }] of await positions.ends(input)) {
        expect(await positions.committed(groupId, input, partition)).toBe(high);
      }
    } finally {
      await positions.close();
    }
  });
});
