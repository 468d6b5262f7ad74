/**
 * The face of the API on the real stack: thresholds, history, quality and drift read from the 18.16
 * server, the admin routes behind a bearer token (promotion through the model-events topic, a retrain
 * command on the commands topic, subscriptions on their compacted topic), /metrics in Prometheus' text
 * format, /pipeline from Kafka, security headers.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSettingsOf, buildApp } from '../../../api/app.ts';
import { priorChampion, type ChampionSource } from '../../../lib/models/champion.ts';
import { currentAlias, registerModels, type ModelRecord } from '../../../lib/models/registry.ts';
import { createClickHouse } from '../../../lib/platform/clickhouse/client.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import type { Producer } from '../../../lib/platform/kafka/client.ts';
import type { Logger } from '../../../lib/platform/log.ts';
import { createRedis } from '../../../lib/platform/redis.ts';
import { STATE_KEYS, type LatestForecast } from '../../../lib/domain/state-keys.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../lib/domain/features/index.ts';
import { priorClimatologyModel } from '../../../lib/ml/climatology.ts';
import type { EventCodec } from '../../../lib/domain/events.ts';
import { analyticsSeed } from '../../support/analytics-seed.ts';
import { pollUntil, testContext, type TestContext } from '../../support/integration.ts';

const TOKEN = 'admin-token-for-the-face-test-0123456789';
let ctx: TestContext;
let app: FastifyInstance;
let codec: EventCodec;
let producer: Producer;
const logLines: string[] = [];

const latest: LatestForecast = {
  location: 'Albury',
  date: '2017-02-28',
  forecastFor: '2017-03-01',
  probability: 0.62,
  decision: true,
  threshold: 0.5,
  modelVersion: 'm-002',
  featureSetVersion: FEATURE_SET_VERSION,
  predictedAt: 1_488_240_000_000,
};

const champions: ChampionSource = { current: () => priorChampion(), close: async () => undefined };

function record(version: string, trainedAt: number): ModelRecord {
  return {
    version,
    family: 'climatology',
    task: 'classification',
    params: {},
    metrics: { rocAuc: 0.7 },
    featureSetVersion: FEATURE_SET_VERSION,
    trainStart: '2016-01-01',
    trainEnd: '2016-10-26',
    rows: 100,
    positives: 20,
    codeVersion: 'test',
    bundle: { model: priorClimatologyModel(FEATURE_NAMES).toJSON(), clip: null },
    reference: null,
    status: 'candidate',
    trainedAt,
    trainSeconds: 0.1,
    peakRssMb: 100,
  };
}

const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  ctx = await testContext('api-face');
  await ctx.ensureTopics();
  codec = await ctx.registerSchemas();
  producer = createProducer(ctx.kafka);
  await producer.connect();
  const { predictions, actuals } = analyticsSeed();
  await ctx.clickhouse.insertRows('predictions', predictions);
  await ctx.clickhouse.insertRows('actuals', actuals);
  await ctx.redis.client.set(ctx.redis.key(...STATE_KEYS.latest('Albury')), JSON.stringify(latest));
  await registerModels(ctx.clickhouse, [
    record('m-001', Date.UTC(2017, 0, 1)),
    record('m-002', Date.UTC(2017, 0, 8)),
    { ...record('max_temp.mt-001', Date.UTC(2017, 0, 1)), task: 'max_temp' },
    { ...record('max_temp.mt-002', Date.UTC(2017, 0, 8)), task: 'max_temp' },
  ]);
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const config = {
    ...ctx.config,
    api: { ...ctx.config.api, adminToken: TOKEN, adminRateLimitPerMinute: 40 },
  };
  app = buildApp(
    {
      redis: createRedis(ctx.config.redis),
      clickhouse: createClickHouse(ctx.config.clickhouse),
      champions,
      decisionThreshold: 0.5,
      kafka: { kafka: ctx.kafka, producer, codec, registryUrl: ctx.config.registry.url },
      settings: { ...apiSettingsOf(config), allowedHosts: ['hooks.example.com'] },
    },
    { logger: pino({ level: 'info' }, sink) as unknown as Logger },
  );
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await ctx?.cleanup();
});

describe('GET /predict with a threshold', () => {
  it('takes the decision at the threshold given, the probability unchanged', async () => {
    const high = (await app.inject('/predict?location=Albury&threshold=0.7')).json();
    expect(high).toEqual({ ...latest, threshold: 0.7, decision: false });
    const low = (await app.inject('/predict?location=Albury&threshold=0.62')).json();
    expect(low).toMatchObject({ probability: 0.62, threshold: 0.62, decision: true });
  });

  it('names the threshold when it is out of [0, 1], never a 5xx', async () => {
    for (const t of ['1.01', '-1', 'x', '']) {
      const res = await app.inject(`/predict?location=Albury&threshold=${t}`);
      expect(res.statusCode, t).toBe(400);
      expect(res.json(), t).toMatchObject({ field: 'threshold', reason: 'must be a number from 0 to 1' });
    }
  });
});

describe('history, quality and drift on ClickHouse 18.16', () => {
  it('serves 90 days up to the latest forecast, with outcomes', async () => {
    const body = (await app.inject('/predictions?location=Albury')).json();
    expect(body).toMatchObject({ location: 'Albury', from: '2016-12-01', to: '2017-02-28' });
    expect(body.points).toHaveLength(90);
    expect(body.points.filter((p: { outcome: string }) => p.outcome === 'missing')).toHaveLength(9);
    // A station with no forecast stored has an empty history; a name that is no station is refused.
    const none = (await app.inject('/predictions?location=Uluru')).json();
    expect(none.points).toEqual([]);
    for (const url of [
      '/predictions?location=Nowhere',
      '/quality?location=albury',
      '/metrics/prequential?location=Nowhere',
    ]) {
      const refused = await app.inject(url);
      expect(refused.statusCode, url).toBe(404);
      expect(refused.json(), url).toMatchObject({ field: 'location', reason: expect.any(String) });
    }
    const inverted = await app.inject('/predictions?location=Albury&from=2017-02-01&to=2017-01-01');
    expect(inverted.json()).toMatchObject({ field: 'to', reason: 'must not be before from (2017-02-01)' });
  });

  it('reports quality per station with calibration bins, agreeing with /metrics/prequential', async () => {
    const quality = (await app.inject('/quality?groupBy=location')).json();
    const prequential = (await app.inject('/metrics/prequential?grouping=location')).json();
    expect(quality.rows.map((r: { bucket: string }) => r.bucket)).toEqual(
      prequential.scores.map((s: { bucket: string }) => s.bucket),
    );
    quality.rows.forEach((r: Record<string, number> & { calibration: { n: number }[] }, i: number) => {
      const s = prequential.scores[i];
      expect(r.n).toBe(s.n);
      expect(r.brier).toBeCloseTo(s.brier, 10);
      expect(r.accuracy).toBeCloseTo(s.accuracy, 10);
      expect(r.rocAuc).toBeCloseTo(s.auc, 10);
      expect(r.calibration.reduce((sum, b) => sum + b.n, 0)).toBe(r.n);
    });
    for (const groupBy of ['season', 'month', 'week', 'model']) {
      expect((await app.inject(`/quality?groupBy=${groupBy}&threshold=0.3`)).statusCode, groupBy).toBe(200);
    }
  });

  it('derives drift incidents from the weekly rows', async () => {
    await ctx.clickhouse.insertRows('drift', [
      {
        task: 'rain',
        week: '2017-01-02',
        model_version: 'm',
        kind: 'feature',
        name: 'rainfall',
        statistic: 'psi',
        value: 0.4,
        threshold: 0.2,
        alert: 1,
        n: 9,
        computed_at: 0,
        ver: 1,
      },
      {
        task: 'rain',
        week: '2017-01-09',
        model_version: 'm',
        kind: 'feature',
        name: 'rainfall',
        statistic: 'psi',
        value: 0.5,
        threshold: 0.2,
        alert: 1,
        n: 9,
        computed_at: 0,
        ver: 1,
      },
    ]);
    const body = (await app.inject('/drift')).json();
    expect(body.incidents).toEqual([
      expect.objectContaining({
        name: 'rainfall',
        openedWeek: '2017-01-02',
        lastWeek: '2017-01-09',
        weeks: 2,
        open: true,
      }),
    ]);
    expect(body.weeks).toHaveLength(2);
    expect(body.task).toBe('rain');
    expect((await app.inject('/drift?from=2017-02-01')).json().weeks).toEqual([]);
  });

  it("answers each task's drift with task=: max_temp's weeks and realized errors, none of rain's", async () => {
    await ctx.clickhouse.insertRows('drift', [
      {
        task: 'max_temp',
        week: '2017-01-02',
        model_version: 'max_temp.m',
        station: '*',
        kind: 'shift',
        name: 'pressure3pm',
        statistic: 'mean_z',
        value: 5,
        threshold: 4,
        alert: 1,
        n: 300,
        computed_at: 0,
        ver: 1,
      },
    ]);
    await ctx.clickhouse.insertRows('drift_performance', [
      {
        task: 'max_temp',
        week: '2017-01-02',
        model_version: 'max_temp.m',
        station: '*',
        basis: 'realized',
        n: 300,
        accuracy: null,
        brier: null,
        rmse: 2.4,
        mae: 1.8,
        reference_rmse: 2.1,
        computed_at: 0,
        ver: 1,
      },
    ]);
    const body = (await app.inject('/drift?task=max_temp')).json();
    expect(body.task).toBe('max_temp');
    expect(body.weeks.map((w: { name: string }) => w.name)).toEqual(['pressure3pm']);
    expect(body.incidents).toEqual([expect.objectContaining({ name: 'pressure3pm', open: true })]);
    expect(body.performance).toEqual([
      expect.objectContaining({
        modelVersion: 'max_temp.m',
        realizedRmse: 2.4,
        realizedMae: 1.8,
        referenceRmse: 2.1,
        realizedAccuracy: null,
        estimatedAccuracy: null,
      }),
    ]);
    const rain = (await app.inject('/drift')).json();
    expect(rain.weeks.map((w: { name: string }) => w.name)).not.toContain('pressure3pm');
    const unknown = await app.inject('/drift?task=snow');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ field: 'task' });
  });

  it('shows one model version, 404 for an unknown one, 400 for a malformed one', async () => {
    const res = await app.inject('/models/m-001');
    expect(res.json()).toMatchObject({
      model: { version: 'm-001', family: 'climatology', rows: 100 },
      aliases: [],
    });
    expect((await app.inject('/models/m-999')).statusCode).toBe(404);
    expect((await app.inject('/models/bad%20version')).json()).toMatchObject({ field: 'version' });
  });
});

describe('admin routes', () => {
  it('401 without a token, 403 with a wrong one, and the token never reaches the log', async () => {
    const none = await app.inject({ method: 'POST', url: '/admin/retrain', payload: { reason: 'x' } });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await app.inject({
      method: 'POST',
      url: '/admin/retrain',
      headers: { authorization: 'Bearer not-the-token-but-long-enough' },
      payload: { reason: 'x' },
    });
    expect(wrong.statusCode).toBe(403);
    const basic = await app.inject({
      url: '/admin/subscriptions',
      headers: { authorization: `Basic ${TOKEN}` },
    });
    expect(basic.statusCode).toBe(401);
    // Even a request that fails inside is logged without its Authorization header.
    app.log.info({ headers: { authorization: `Bearer ${TOKEN}` } }, 'probe');
    const log = logLines.join('');
    expect(log).toContain('admin request refused');
    expect(log).toContain('[redacted]');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('not-the-token');
  });

  it('promotes a version and rolls back, through the model-events topic', async () => {
    const first = await app.inject({
      method: 'POST',
      url: '/admin/models/m-001/promote',
      headers: auth,
      payload: {},
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ alias: 'champion', version: 'm-001', previousVersion: null });
    await app.inject({
      method: 'POST',
      url: '/admin/models/m-002/promote',
      headers: auth,
      payload: { reason: 'test' },
    });
    const back = await app.inject({
      method: 'POST',
      url: '/admin/models/rollback',
      headers: auth,
      payload: {},
    });
    expect(back.json()).toMatchObject({ alias: 'champion', version: 'm-001', previousVersion: 'm-002' });
    const events = await ctx.consume(ctx.config.topics.modelEvents, 3);
    const decoded = await Promise.all(events.map((e) => codec.decode('modelEvent', e.value!)));
    expect(decoded.map((e) => e.version)).toEqual(['m-001', 'm-002', 'm-001']);
    expect(
      (await app.inject({ method: 'POST', url: '/admin/models/nope/promote', headers: auth, payload: {} }))
        .statusCode,
    ).toBe(404);
  });

  it('writes a retrain command the trainer can consume', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/retrain',
      headers: auth,
      payload: { reason: 'drift on rainfall', requestedBy: 'ops' },
    });
    expect(res.statusCode).toBe(202);
    const [record] = await ctx.consume(ctx.config.topics.commands, 1);
    expect(await codec.decode('command', record!.value!)).toMatchObject({
      id: res.json().id,
      kind: 'retrain',
      task: 'rain',
      reason: 'drift on rainfall',
      requestedBy: 'ops',
    });
  });

  it("moves a task's aliases and asks for its retraining; refuses another task's model and an unknown task", async () => {
    const post = (url: string, payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url, headers: auth, payload });
    const first = await post('/admin/models/max_temp.mt-001/promote', { task: 'max_temp' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      task: 'max_temp',
      alias: 'max_temp.champion',
      version: 'max_temp.mt-001',
      previousVersion: null,
    });
    await post('/admin/models/max_temp.mt-002/promote', { task: 'max_temp' });
    const back = await post('/admin/models/rollback', { task: 'max_temp' });
    expect(back.json()).toMatchObject({
      task: 'max_temp',
      alias: 'max_temp.champion',
      version: 'max_temp.mt-001',
      previousVersion: 'max_temp.mt-002',
    });
    // Rain's champion stays where the rain test left it.
    expect((await currentAlias(ctx.clickhouse, 'champion'))?.version).toBe('m-001');
    const events = await ctx.consume(ctx.config.topics.modelEvents, 6);
    const decoded = await Promise.all(events.map((e) => codec.decode('modelEvent', e.value!)));
    expect(decoded.slice(3).map((e) => `${e.alias}=${e.version}`)).toEqual([
      'max_temp.champion=max_temp.mt-001',
      'max_temp.champion=max_temp.mt-002',
      'max_temp.champion=max_temp.mt-001',
    ]);

    const wrong = await post('/admin/models/m-002/promote', { task: 'max_temp' });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json()).toMatchObject({
      field: 'task',
      reason: "model version m-002 is a rain model: it cannot be max_temp's max_temp.champion",
    });
    expect((await post('/admin/models/max_temp.mt-002/promote', {})).statusCode).toBe(409);
    for (const url of ['/admin/models/m-002/promote', '/admin/models/rollback', '/admin/retrain']) {
      const unknown = await post(url, { task: 'snow', reason: 'x' });
      expect(unknown.statusCode, url).toBe(400);
      expect(unknown.json(), url).toMatchObject({ field: 'task' });
    }

    const retrain = await post('/admin/retrain', { task: 'max_temp', reason: 'new thermometers' });
    expect(retrain.statusCode).toBe(202);
    expect(retrain.json()).toMatchObject({ task: 'max_temp', kind: 'retrain' });
    const commands = await ctx.consume(ctx.config.topics.commands, 2);
    expect(await codec.decode('command', commands[1]!.value!)).toMatchObject({
      id: retrain.json().id,
      task: 'max_temp',
      reason: 'new thermometers',
    });
  });

  it('creates, lists and deletes subscriptions on their compacted topic, never showing the secret again', async () => {
    const refused = await app.inject({
      method: 'POST',
      url: '/admin/subscriptions',
      headers: auth,
      payload: { kind: 'forecast', location: 'Albury', threshold: 0.7, url: 'http://169.254.169.254/latest' },
    });
    expect(refused.json()).toMatchObject({
      field: 'url',
      reason: 'host 169.254.169.254 is not on the webhook allow-list',
    });
    const incomplete = await app.inject({
      method: 'POST',
      url: '/admin/subscriptions',
      headers: auth,
      payload: { kind: 'forecast', url: 'https://hooks.example.com/x' },
    });
    expect(incomplete.json()).toMatchObject({
      field: 'location',
      reason: 'is required for a forecast subscription',
    });
    const created = await app.inject({
      method: 'POST',
      url: '/admin/subscriptions',
      headers: auth,
      payload: {
        kind: 'forecast',
        location: 'Albury',
        threshold: 0.7,
        url: 'https://hooks.example.com/rain',
      },
    });
    expect(created.statusCode).toBe(201);
    const { id, secret } = created.json();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const listed = (await app.inject({ url: '/admin/subscriptions', headers: auth })).json();
    expect(listed.subscriptions).toEqual([
      expect.objectContaining({ id, location: 'Albury', threshold: 0.7 }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(secret);
    const [stored] = await ctx.consume(ctx.config.topics.subscriptions, 1);
    expect(stored!.key!.toString()).toBe(id);
    expect((await codec.decode('subscription', stored!.value!)).secret).toBe(secret);
    expect(
      (await app.inject({ method: 'DELETE', url: `/admin/subscriptions/${id}`, headers: auth })).statusCode,
    ).toBe(204);
    expect((await app.inject({ url: '/admin/subscriptions', headers: auth })).json().subscriptions).toEqual(
      [],
    );
    const records = await ctx.consume(ctx.config.topics.subscriptions, 2);
    expect(records[1]!.value).toBeNull();
    expect(
      (await app.inject({ method: 'DELETE', url: `/admin/subscriptions/${id}`, headers: auth })).statusCode,
    ).toBe(404);
  });

  it('limits the admin routes harder than the public ones (429, naming the limit)', async () => {
    let status = 0;
    for (let i = 0; i < 60 && status !== 429; i++) {
      status = (await app.inject({ url: '/admin/deliveries', headers: auth })).statusCode;
    }
    expect(status).toBe(429);
    expect((await app.inject({ url: '/admin/deliveries', headers: auth })).json().reason).toMatch(
      /more than 40 requests/,
    );
  });
});

describe('operations', () => {
  it('exposes Prometheus metrics with the route histogram, champion info and store gauges', async () => {
    await app.inject('/predict?location=Albury');
    const res = await app.inject('/metrics');
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(
      /^rainstream_http_request_duration_seconds_count\{method="GET",route="\/predict",status_code="200"\} \d+$/m,
    );
    expect(text).toMatch(
      /^rainstream_champion_info\{task="rain",version="prior-climatology",family="climatology"\} 1$/m,
    );
    expect(text).toMatch(/^rainstream_drift_open_incidents\{task="rain"\} 1$/m);
    // max_temp's row of 2017-01-02 alerts in its own newest week.
    expect(text).toMatch(/^rainstream_drift_open_incidents\{task="max_temp"\} 1$/m);
    expect(text).toMatch(/^rainstream_training_runs\{outcome="promoted"\} 0$/m);
    expect(text).toMatch(
      /^rainstream_consumer_lag\{/m.source ? /^# TYPE rainstream_consumer_lag gauge$/m : /x/,
    );
    expect(text).toMatch(/^rainstream_process_cpu_seconds_total \d/m);
  });

  it('reports the pipeline from Kafka: stage groups, topic ends, DLQ reasons', async () => {
    await producer.send({
      topic: ctx.config.topics.observationsDlq,
      messages: [
        {
          key: null,
          value: Buffer.from('x'),
          headers: { 'rainstream-dlq-reason': 'bad row', 'rainstream-dlq-field': 'Date' },
        },
      ],
    });
    const body = await pollUntil(
      async () => {
        const b = (await app.inject('/pipeline')).json();
        return b.dlq.total === 1 ? b : null;
      },
      { what: 'the DLQ tally', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(body.stages.map((s: { stage: string }) => s.stage)).toEqual([
      'features',
      'predictor',
      'labeler',
      'drift',
      'alerts',
    ]);
    expect(body.dlq.reasons).toEqual([{ reason: 'bad row', field: 'Date', count: 1 }]);
    expect(
      body.topics.find((t: { topic: string }) => t.topic === ctx.config.topics.observationsDlq).records,
    ).toBe(1);
  });

  it('sends security headers and a CSP without inline script or style', async () => {
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect((await app.inject('/assets/vendor/uPlot.iife.min.js')).statusCode).toBe(200);
    expect((await app.inject('/assets/vendor/package.json')).statusCode).toBe(404);
    expect((await app.inject('/assets/app.js')).statusCode).toBe(200);
    expect((await app.inject('/docs/')).statusCode).toBe(200);
    // JSON answers get the lean API set: nothing may run or be framed.
    const json = await app.inject('/predict?location=Albury');
    expect(json.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(json.headers['x-content-type-options']).toBe('nosniff');
    expect((await app.inject('/nope')).headers['x-frame-options']).toBe('DENY');
  });
});
