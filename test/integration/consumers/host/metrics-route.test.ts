/**
 * /metrics of a pipeline process and of the API, scraped by a real Prometheus: the stages' records in/out
 * per stage, the prediction latency histogram, the trainer's batches and its training-run seconds by task
 * and outcome, consumer lag per group and partition, the champion info of every task, the API's request
 * histogram per route and status. The exposition text is also parsed here, so a name or
 * label that Prometheus would accept but mean something else is caught.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSettingsOf, buildApp } from '../../../../api/app.ts';
import { startHealthServer, type HealthServer } from '../../../../consumers/host/health.ts';
import { metricsRoute, type MetricsRoute } from '../../../../consumers/host/metrics-route.ts';
import { createHealth } from '../../../../lib/platform/health.ts';
import { startPipeline, type Pipeline } from '../../../../consumers/host/pipeline.ts';
import type { EventCodec } from '../../../../lib/domain/events.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { fixedChampionSource, priorChampion } from '../../../../lib/models/champion.ts';
import { createClickHouse } from '../../../../lib/platform/clickhouse/client.ts';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../../lib/platform/kafka/producer.ts';
import { createRedis } from '../../../../lib/platform/redis.ts';
import { rainDay } from '../../../support/observations.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';
import { startPrometheus, type RunningPrometheus } from '../../../support/prometheus.ts';

let ctx: TestContext;
let pipeline: Pipeline;
let metrics: MetricsRoute;
let server: HealthServer;
let producer: Producer;
let codec: EventCodec;
let app: FastifyInstance;
let apiUrl: string;
let prometheus: RunningPrometheus;
const DAYS = 20;
/** Each day but the last is labeled with the next, once for rain and once for max_temp. */
const LABELED = 2 * (DAYS - 1);

beforeAll(async () => {
  ctx = await testContext('metrics');
  await ctx.ensureTopics();
  codec = await ctx.registerSchemas();
  // The labeler and the trainer too: 20 days of labels close a few weeks, each a training run of each task
  // (skipped: far fewer rows than RETRAIN_MIN_ROWS), so the trainer's families have samples to scrape.
  pipeline = await startPipeline(ctx.config, ctx.logger, ['features', 'predictor', 'labeler', 'trainer']);
  metrics = metricsRoute(ctx.config, pipeline, ctx.logger);
  server = await startHealthServer({
    health: createHealth(),
    port: 0,
    logger: ctx.logger,
    routes: { '/metrics': metrics.route },
  });
  producer = createProducer(ctx.kafka);
  await producer.connect();
  await producer.send({
    topic: ctx.config.topics.observations,
    messages: Array.from({ length: DAYS }, (_, i) => {
      // RainToday and MaxTemp known every day: each day's forecasts of both tasks get their label.
      const o = { ...rainDay(addDays('2017-01-01', i), (i % 4) * 2), maxTemp: 25 + (i % 3) };
      return { key: o.location, value: codec.encode('observation', o) };
    }),
  });
  app = buildApp({
    redis: createRedis(ctx.config.redis),
    clickhouse: createClickHouse(ctx.config.clickhouse),
    champions: fixedChampionSource(priorChampion()),
    decisionThreshold: 0.5,
    kafka: { kafka: ctx.kafka, producer, codec, registryUrl: ctx.config.registry.url },
    settings: apiSettingsOf(ctx.config),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await pollUntil(async () => (await fetch(`${apiUrl}/predict?location=Albury`)).ok, {
    what: 'a forecast for Albury',
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  await pollUntil(
    async () => {
      const samples = parse(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text());
      const value = (name: string, labels: Record<string, string>) => find(samples, name, labels)?.value ?? 0;
      return (
        value('rainstream_stage_event_latency_seconds_count', { stage: 'trainer' }) === LABELED &&
        ['rain', 'max_temp'].every(
          (task) => value('rainstream_training_run_seconds_count', { task, outcome: 'skipped' }) > 0,
        )
      );
    },
    {
      what: 'every label read by the trainer and a training run of each task',
      timeoutMs: 90_000,
      intervalMs: 250,
    },
  );
  prometheus = await startPrometheus({
    pipeline: `http://127.0.0.1:${server.port}/metrics`,
    api: `${apiUrl}/metrics`,
  });
}, 180_000);

afterAll(async () => {
  await prometheus?.stop();
  await app?.close();
  await metrics?.close();
  await server?.close();
  await pipeline?.stop();
  await ctx?.cleanup();
});

type Sample = { name: string; labels: Record<string, string>; value: number };

const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** `name{labels} value` samples of an exposition text. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, line).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return out;
}

describe('pipeline /metrics', () => {
  it('exposes records in and out per stage, latency in seconds, lag per group and partition', async () => {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const samples = parse(text);
    const get = (name: string, labels: Record<string, string>) => find(samples, name, labels);
    expect(get('rainstream_stage_records_in_total', { stage: 'features' })?.value).toBe(DAYS);
    expect(get('rainstream_stage_records_out_total', { stage: 'features' })?.value).toBe(DAYS);
    expect(get('rainstream_stage_records_out_total', { stage: 'predictor' })?.value).toBe(DAYS);
    expect(get('rainstream_prediction_lag_seconds_count', {})?.value).toBe(DAYS);
    expect(get('rainstream_prediction_lag_seconds_bucket', { le: '+Inf' })?.value).toBe(DAYS);
    // Processing latency per stage: every record observed once, from its Kafka timestamp to the commit.
    for (const stage of ['features', 'predictor']) {
      expect(get('rainstream_stage_event_latency_seconds_count', { stage })?.value).toBe(DAYS);
      expect(get('rainstream_stage_event_latency_seconds_sum', { stage })?.value).toBeGreaterThan(0);
      expect(get('rainstream_stage_batch_seconds_count', { stage })?.value).toBeGreaterThanOrEqual(1);
    }
    // The trainer's labeled batches, every labeled example of both tasks observed once.
    expect(get('rainstream_stage_records_out_total', { stage: 'labeler' })?.value).toBe(LABELED);
    expect(get('rainstream_stage_event_latency_seconds_count', { stage: 'trainer' })?.value).toBe(LABELED);
    expect(get('rainstream_stage_batch_seconds_count', { stage: 'trainer' })?.value).toBeGreaterThanOrEqual(
      1,
    );
    // Each task's champion: its prior until a trained model is promoted.
    for (const [task, version] of [
      ['rain', 'prior-climatology'],
      ['max_temp', 'prior-persistence'],
    ] as const) {
      const runs = get('rainstream_training_runs_total', { task, outcome: 'skipped' })?.value;
      expect(runs, task).toBeGreaterThanOrEqual(1);
      expect(get('rainstream_training_run_seconds_count', { task, outcome: 'skipped' })?.value, task).toBe(
        runs,
      );
      expect(
        get('rainstream_training_run_seconds_bucket', { task, outcome: 'skipped', le: '+Inf' })?.value,
        task,
      ).toBe(runs);
      expect(get('rainstream_champion_info', { task, version })?.value, task).toBe(1);
    }
    const lag = samples.filter((s) => s.name === 'rainstream_consumer_lag');
    // The trainer's group is private (it re-reads the labeled topic at every start): no lag of its own.
    expect(new Set(lag.map((s) => s.labels.stage))).toEqual(new Set(['features', 'predictor', 'labeler']));
    expect(
      lag.every(
        (s) => s.labels.group!.startsWith(ctx.config.groupPrefix) && s.labels.partition !== undefined,
      ),
    ).toBe(true);
    expect(get('rainstream_process_resident_memory_bytes', {})?.value).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
  });
});

describe('scraped by Prometheus', () => {
  it('reads both targets up, the stage counters, the lag and the API route histogram', async () => {
    const value = async (q: string) => {
      const r = await prometheus.query(q);
      return r.length === 0 ? null : Number(r[0]!.value[1]);
    };
    await pollUntil(async () => (await value('sum(up)')) === 2, {
      what: 'both targets up',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(await value('rainstream_stage_records_out_total{job="pipeline",stage="predictor"}')).toBe(DAYS);
    expect(await value('sum(rainstream_consumer_lag{job="pipeline",stage="predictor"})')).toBe(0);
    expect(
      await value('histogram_quantile(0.99, sum by (le) (rainstream_prediction_lag_seconds_bucket))'),
    ).toBeGreaterThan(0);
    expect(
      await value(
        'histogram_quantile(0.5, sum by (le) (rainstream_stage_event_latency_seconds_bucket{stage="predictor"}))',
      ),
    ).toBeGreaterThan(0);
    await fetch(`${apiUrl}/predict?location=Albury&threshold=0.9`);
    await pollUntil(
      async () =>
        (await value(
          'sum(rainstream_http_request_duration_seconds_count{job="api",route="/predict",status_code="200"})',
        )) !== null,
      { what: 'the API request histogram', timeoutMs: 30_000, intervalMs: 250 },
    );
    const routes = await prometheus.query('rainstream_http_request_duration_seconds_count{job="api"}');
    expect(routes.every((r) => r.metric.method !== undefined && r.metric.status_code !== undefined)).toBe(
      true,
    );
    expect(await value('rainstream_champion_info{job="api",task="rain"}')).toBe(1);
    expect(await value('count(rainstream_champion_info{job="pipeline"})')).toBe(2);
    expect(
      await value('sum(rainstream_training_run_seconds_count{job="pipeline",task="max_temp"})'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await value(
        'histogram_quantile(0.5, sum by (le) (rainstream_stage_batch_seconds_bucket{job="pipeline",stage="trainer"}))',
      ),
    ).not.toBeNull();
  });
});
