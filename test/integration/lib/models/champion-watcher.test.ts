/**
 * The champion watcher on the real stack, faced with what can go wrong on the model-events topic: an
 * event that does not decode goes to the DLQ and the watcher keeps following; a promotion of a version
 * the registry does not hold is refused; in both cases the last good champion serves and status() says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventCodec } from '../../../../lib/domain/events.ts';
import { startChampionWatcher, type ChampionWatcher } from '../../../../lib/models/champion-watcher.ts';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { readDlqHeaders } from '../../../../lib/platform/kafka/dlq.ts';
import { createProducer, sendBounded } from '../../../../lib/platform/kafka/producer.ts';
import { createMetrics, type Metrics } from '../../../../lib/platform/metrics.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';

describe('champion watcher under bad model events', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let producer: Producer;
  let watcher: ChampionWatcher;
  let metrics: Metrics;
  const reports: Array<[boolean, string | undefined]> = [];

  beforeAll(async () => {
    ctx = await testContext('champion-watcher');
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    producer = createProducer(ctx.kafka);
    await producer.connect();
    metrics = createMetrics();
    watcher = await startChampionWatcher({
      kafka: ctx.kafka,
      codec,
      clickhouse: ctx.clickhouse,
      topics: ctx.config.topics,
      logger: ctx.logger,
      producer,
      metrics,
      health: (ready, reason) => reports.push([ready, reason]),
    });
  });

  afterAll(async () => {
    await watcher?.close();
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  it('sends an undecodable model event to the DLQ and keeps the champion', async () => {
    await sendBounded(producer, ctx.config.topics.modelEvents, [
      { key: 'champion', value: Buffer.from('not avro at all') },
    ]);
    const [dlq] = await ctx.consume(ctx.config.topics.observationsDlq, 1, { timeoutMs: 60_000 });
    const headers = readDlqHeaders(dlq!.headers);
    expect(headers.reason).toContain('DECODE');
    expect(headers.sourceTopic).toBe(ctx.config.topics.modelEvents);
    expect(watcher.current().version).toBe('prior-climatology');
    expect(metrics.snapshot().counters.champion_events_undecodable).toBe(1);
  });

  it('refuses a promoted version the registry does not hold, serving the last good one and saying so', async () => {
    await sendBounded(producer, ctx.config.topics.modelEvents, [
      {
        key: 'champion',
        value: codec.encode('modelEvent', {
          alias: 'champion',
          version: 'ghost-version',
          family: 'gbdt',
          previousVersion: null,
          reason: 'test',
          at: Date.now(),
        }),
      },
    ]);
    const status = await pollUntil(
      () => (watcher.status().named === 'ghost-version' ? watcher.status() : null),
      {
        timeoutMs: 60_000,
        what: 'the watcher to refuse the ghost version',
      },
    );
    expect(status).toEqual({
      serving: 'prior-climatology',
      named: 'ghost-version',
      reason: 'the registry does not hold this version',
    });
    expect(watcher.current().version).toBe('prior-climatology');
    expect(reports.at(-1)).toEqual([
      false,
      expect.stringContaining('serving prior-climatology, not ghost-version'),
    ]);
  });
});
