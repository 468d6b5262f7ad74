/**
 * The alerts stage on the real stack, against local HTTP receivers: one that answers, one that fails,
 * then hangs past the timeout, then recovers. Subscriptions are written to their compacted topic as the
 * admin API writes them; forecasts and a champion change are produced as the stages produce them.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlertsStage } from '../../../../consumers/alerts/shell.ts';
import { verifySignature, WEBHOOK_HEADERS } from '../../../../consumers/alerts/webhook.ts';
import type { RunningStage } from '../../../../consumers/shell/stage.ts';
import type { EventCodec, Prediction, Subscription } from '../../../../lib/domain/events.ts';
import { createClickHouse } from '../../../../lib/platform/clickhouse/client.ts';
import { loadConfig } from '../../../../lib/platform/config.ts';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../../lib/platform/kafka/producer.ts';
import { createMetrics } from '../../../../lib/platform/metrics.ts';
import { createRedis } from '../../../../lib/platform/redis.ts';
import { listSubscriptions } from '../../../../lib/platform/clickhouse/queries/alerts.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver that answers each request with what `answer` says: a status, or 'hang' (never answers). */
async function receiver(
  answer: (r: Received, n: number) => number | 'hang',
): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = { headers: req.headers, body };
      got.push(r);
      const a = answer(r, got.length);
      if (a === 'hang') return;
      res.writeHead(a, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

let ctx: TestContext;
let codec: EventCodec;
let producer: Producer;
let stage: RunningStage;
let steady: Awaited<ReturnType<typeof receiver>>;
let flaky: Awaited<ReturnType<typeof receiver>>;
const flakyCalls = new Map<string, number>();

const sub = (id: string, over: Partial<Subscription>): Subscription => ({
  id,
  kind: 'forecast',
  location: 'Sydney',
  threshold: 0.6,
  url: '',
  secret: `secret-of-${id}-0123456789`,
  description: '',
  createdBy: 'test',
  createdAt: Date.now() - 60_000,
  ...over,
});

const prediction = (date: string, probability: number): Prediction => ({
  location: 'Sydney',
  date,
  probability,
  decision: probability >= 0.5,
  threshold: 0.5,
  modelVersion: 'm-1',
  featureSetVersion: 'fs',
  values: [],
  rainToday: null,
  rainfall: null,
  ingestedAt: Date.now(),
  predictedAt: Date.now(),
  task: 'rain',
  value: null,
});

beforeAll(async () => {
  ctx = await testContext('alerts');
  await ctx.ensureTopics();
  codec = await ctx.registerSchemas();
  producer = createProducer(ctx.kafka);
  await producer.connect();
  steady = await receiver(() => 200);
  // Per delivery: the first attempt fails, the second hangs past the timeout, the third gets through.
  flaky = await receiver((r) => {
    const key = String(r.headers[WEBHOOK_HEADERS.idempotencyKey]);
    const n = (flakyCalls.get(key) ?? 0) + 1;
    flakyCalls.set(key, n);
    return n === 1 ? 503 : n === 2 ? 'hang' : 200;
  });
  const subscriptions = [
    sub('steady-forecast', { url: steady.url }),
    sub('flaky-forecast', { url: flaky.url }),
    sub('steady-champion', { kind: 'champion', location: null, threshold: null, url: steady.url }),
    // Named, not on the allow-list at delivery: refused, never requested.
    sub('not-allowed', { url: steady.url.replace('127.0.0.1', 'localhost') }),
  ];
  await producer.send({
    topic: ctx.config.topics.subscriptions,
    messages: subscriptions.map((s) => ({ key: s.id, value: codec.encode('subscription', s) })),
  });
  const config = loadConfig({
    ...ctx.env,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_TIMEOUT_MS: '500',
    WEBHOOK_BACKOFF_MS: '50',
    WEBHOOK_MAX_ATTEMPTS: '4',
  });
  stage = await startAlertsStage({
    config,
    logger: ctx.logger,
    kafka: ctx.kafka,
    producer,
    codec,
    redis: createRedis(config.redis),
    clickhouse: createClickHouse(config.clickhouse),
    metrics: createMetrics(),
  });
});

afterAll(async () => {
  await stage?.stop();
  await producer?.disconnect();
  for (const r of [steady, flaky]) r?.server.closeAllConnections();
  await Promise.all([steady, flaky].map((r) => r && new Promise((resolve) => r.server.close(resolve))));
  await ctx?.cleanup();
});

async function attempts() {
  return ctx.clickhouse.rows<{
    subscription_id: string;
    delivery_id: string;
    attempt: number;
    status: string;
    http_status: number;
    error: string;
  }>(
    `SELECT subscription_id, delivery_id, attempt, status, http_status, error FROM alert_deliveries ORDER BY subscription_id, delivery_id, attempt`,
  );
}

describe('alerts stage', () => {
  it('materializes the subscriptions it read, without secrets', async () => {
    const listed = await pollUntil(
      async () => {
        const l = await listSubscriptions(ctx.clickhouse);
        return l.length === 4 ? l : null;
      },
      { what: 'the subscriptions view', timeoutMs: 30_000 },
    );
    expect(listed.map((s) => s.id).sort()).toEqual([
      'flaky-forecast',
      'not-allowed',
      'steady-champion',
      'steady-forecast',
    ]);
  });

  it('posts signed alerts on upward crossings, retries a failing receiver through a timeout until it recovers', async () => {
    const days: [string, number][] = [
      ['2017-06-01', 0.3],
      ['2017-06-02', 0.8], // crosses 0.6
      ['2017-06-03', 0.9], // still above: silent
      ['2017-06-04', 0.2],
      ['2017-06-05', 0.7], // crosses again
    ];
    await producer.send({
      topic: ctx.config.topics.predictions,
      messages: days.map(([d, p]) => ({
        key: 'Sydney',
        value: codec.encode('prediction', prediction(d, p)),
      })),
    });
    await producer.send({
      topic: ctx.config.topics.modelEvents,
      messages: [
        {
          key: 'champion',
          value: codec.encode('modelEvent', {
            alias: 'champion',
            version: 'm-2',
            family: 'gbdt',
            previousVersion: 'm-1',
            reason: 'better',
            at: Date.now(),
          }),
        },
      ],
    });

    const rows = await pollUntil(
      async () => {
        const r = await attempts();
        const delivered = r.filter((a) => a.status === 'delivered').length;
        return delivered === 5 && r.some((a) => a.status === 'refused') ? r : null;
      },
      { what: 'five deliveries and one refusal', timeoutMs: 60_000, intervalMs: 200 },
    );

    // The steady receiver: two forecast alerts and the champion change, each signed and keyed.
    const forecastBodies = steady.got
      .map((r) => JSON.parse(r.body))
      .filter((b) => b.type === 'forecast.threshold_crossed');
    expect(forecastBodies.map((b) => [b.date, b.probability, b.previousProbability])).toEqual([
      ['2017-06-02', 0.8, 0.3],
      ['2017-06-05', 0.7, 0.2],
    ]);
    const champion = steady.got.map((r) => JSON.parse(r.body)).find((b) => b.type === 'champion.changed');
    expect(champion).toMatchObject({
      version: 'm-2',
      previousVersion: 'm-1',
      subscriptionId: 'steady-champion',
    });
    for (const r of steady.got) {
      const id = JSON.parse(r.body).subscriptionId as string;
      expect(
        verifySignature(
          `secret-of-${id}-0123456789`,
          String(r.headers[WEBHOOK_HEADERS.signature]),
          r.body,
          Math.floor(Date.now() / 1000),
        ),
      ).toBe(true);
    }
    expect(new Set(steady.got.map((r) => r.headers[WEBHOOK_HEADERS.idempotencyKey])).size).toBe(3);

    // The flaky receiver: per delivery 503, then a timeout, then 200; every attempt logged, one key throughout.
    const flakyRows = rows.filter((a) => a.subscription_id === 'flaky-forecast');
    const byDelivery = new Map<string, typeof flakyRows>();
    for (const a of flakyRows) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
    expect(byDelivery.size).toBe(2);
    for (const list of byDelivery.values()) {
      expect(list.map((a) => [Number(a.attempt), a.status, Number(a.http_status)])).toEqual([
        [1, 'retrying', 503],
        [2, 'retrying', 0],
        [3, 'delivered', 200],
      ]);
      expect(list[1]!.error).toMatch(/no answer within 500 ms/);
    }
    expect(flaky.got).toHaveLength(6);
    for (const key of byDelivery.keys()) {
      const sent = flaky.got.filter((r) => r.headers[WEBHOOK_HEADERS.idempotencyKey] === key);
      expect(sent.map((r) => r.headers[WEBHOOK_HEADERS.attempt])).toEqual(['1', '2', '3']);
    }

    // The subscription whose host is not allowed: refused once, no request made.
    const refused = rows.filter((a) => a.subscription_id === 'not-allowed');
    expect(refused.map((a) => a.status)).toEqual(['refused', 'refused']);
    expect(refused[0]!.error).toMatch(/not on the webhook allow-list/);
  });
});
