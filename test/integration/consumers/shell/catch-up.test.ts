/**
 * The catch-up signal on the real Kafka, on a topic written in transactions (commit markers take offsets
 * the consumer never hands to its handler): it fires once the consumer has read everything that was in the
 * topic when it started, not before, and the records produced later are not waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchUpWith } from '../../../../consumers/shell/catch-up.ts';
import { commitTransaction, TransactionalProducers } from '../../../../lib/platform/kafka/transactions.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';

describe('catch-up to the end offsets captured at start', () => {
  let ctx: TestContext;
  let producers: TransactionalProducers;

  beforeAll(async () => {
    ctx = await testContext('catch-up');
    await ctx.ensureTopics();
    producers = new TransactionalProducers({
      kafka: ctx.kafka,
      groupId: ctx.groupId('writer'),
      topic: 'source',
      logger: ctx.logger,
    });
  });

  afterAll(async () => {
    await producers?.close();
    await ctx?.cleanup();
  });

  const write = async (from: number, n: number) => {
    const producer = await producers.producerFor(0);
    for (let i = from; i < from + n; i += 10) {
      await commitTransaction(
        producer,
        [
          {
            topic: ctx.config.topics.labeled,
            messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${(i + j) % 7}`, value: `m${i + j}` })),
          },
        ],
        {
          groupId: ctx.groupId('writer'),
          topic: ctx.config.topics.observations,
          partition: 0,
          offset: String(i),
        },
      );
    }
  };

  it('is caught up after the history, whatever is written since', async () => {
    await write(0, 60);
    const catchUp = await catchUpWith(ctx.kafka, ctx.config.topics.labeled);
    let seen = 0;
    let seenAtCatchUp = -1;
    void catchUp.caughtUp.then(() => (seenAtCatchUp = seen));
    await write(60, 40);
    await ctx.runConsumer({
      groupId: ctx.groupId('reader'),
      topics: [ctx.config.topics.labeled],
      fromBeginning: true,
      onProgress: catchUp.onProgress,
      handleBatch: async (records) => {
        seen += records.length;
      },
    });
    await catchUp.caughtUp;
    expect(seenAtCatchUp).toBeGreaterThanOrEqual(60);
    await pollUntil(() => seen === 100, { what: 'the records written after the start as well' });
  });
});
