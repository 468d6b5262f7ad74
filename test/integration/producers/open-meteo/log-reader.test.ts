/**
 * The bounded reader the ingestion reads its state with, on the real broker: it returns every record
 * committed before the call, including one committed just now (whose markers the coordinator writes a
 * moment after the commit returns) and one committed after another producer's still-open transaction,
 * which a read to kafkajs's admin "end" (the last stable offset) would miss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../../lib/platform/kafka/producer.ts';
import type { ConsumedRecord } from '../../../../lib/platform/kafka/consumer.ts';
import {
  partitionEnds,
  readOffsets,
  readRanges,
  readTopicToEnd,
} from '../../../../producers/open-meteo/log-reader.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';

describe('reading a topic to its end', () => {
  let ctx: TestContext;
  let topic: string;
  const producers: Producer[] = [];

  const transactional = async (name: string) => {
    const producer = createProducer(ctx.kafka, { transactionalId: `${ctx.config.groupPrefix}.${name}` });
    await producer.connect();
    producers.push(producer);
    return producer;
  };
  const collect = (values: string[]) => (records: ConsumedRecord[]) => {
    for (const r of records) values.push(r.value!.toString());
  };
  const readValues = async () => {
    const values: string[] = [];
    await readTopicToEnd(ctx.kafka, topic, collect(values), ctx.logger);
    return values;
  };
  /** Reads up to the ends as of now, while `meanwhile` runs (commits or aborts what is open). */
  const readEndsOfNow = async (meanwhile: () => Promise<void>) => {
    const values: string[] = [];
    const ends = await partitionEnds(ctx.kafka, topic);
    const reading = readRanges(ctx.kafka, topic, ends, collect(values), ctx.logger);
    await meanwhile();
    await reading;
    return values;
  };

  beforeAll(async () => {
    ctx = await testContext('log_reader');
    await ctx.ensureTopics();
    // One partition, so the order of what is read is the order of the log.
    topic = ctx.config.topics.openMeteoState;
  });

  afterAll(async () => {
    await Promise.allSettled(producers.map((p) => p.disconnect()));
    await ctx?.cleanup();
  });

  it('reads what was committed a moment ago, every time', async () => {
    const producer = await transactional('now');
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      const txn = await producer.transaction();
      await txn.send({ topic, messages: [{ key: 'k', value: `now-${i}` }] });
      await txn.commit();
      expected.push(`now-${i}`);
      expect(await readValues()).toEqual(expected);
    }
  });

  it("waits out another producer's open transaction instead of stopping before it", async () => {
    const before = await readValues();
    const slow = await transactional('slow');
    const quick = await transactional('quick');
    const open = await slow.transaction();
    await open.send({ topic, messages: [{ key: 'slow', value: 'slow-1' }] });
    const done = await quick.transaction();
    await done.send({ topic, messages: [{ key: 'quick', value: 'quick-1' }] });
    await done.commit();
    // The last stable offset is where the open transaction starts: what the admin calls the end.
    const admin = ctx.kafka.admin();
    await admin.connect();
    const [stable] = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const [ends] = [...(await partitionEnds(ctx.kafka, topic)).values()];
    expect(BigInt(stable!.offset)).toBeLessThan(ends!.until);

    // The read's end is fixed while the transaction is open; it returns once that ends.
    expect(await readEndsOfNow(() => open.commit())).toEqual([...before, 'slow-1', 'quick-1']);

    // An aborted transaction's record is never handed over.
    const aborted = await slow.transaction();
    await aborted.send({ topic, messages: [{ key: 'slow', value: 'slow-2' }] });
    expect(await readEndsOfNow(() => aborted.abort())).toEqual([...before, 'slow-1', 'quick-1']);
  });

  it('reads records at given offsets', async () => {
    const records = new Map<string, string>();
    await readTopicToEnd(
      ctx.kafka,
      topic,
      (batch) => {
        for (const r of batch) records.set(r.offset, r.value!.toString());
      },
      ctx.logger,
    );
    const wanted = [...records.keys()].filter((_, i) => i % 3 === 0).map((o) => BigInt(o));
    const found = await readOffsets(ctx.kafka, topic, 0, wanted, ctx.logger);
    expect([...found.keys()].sort((a, b) => (a < b ? -1 : 1))).toEqual(wanted);
    for (const [offset, record] of found) expect(record.value!.toString()).toBe(records.get(String(offset)));
  });
});
