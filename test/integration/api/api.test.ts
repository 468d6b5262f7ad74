/**
 * The API against the real Redis and ClickHouse: its own key prefix and migrated database (helpers.ts),
 * state seeded in the exact formats the stages write, requests through `app.inject`.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSettingsOf, buildApp } from '../../../api/app.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import type { Champion, ChampionSource } from '../../../lib/models/champion.ts';
import { createClickHouse } from '../../../lib/platform/clickhouse/client.ts';
import type { Observation } from '../../../lib/domain/events.ts';
import {
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
  STATIONS,
  buildTrainingMatrix,
  type StationState,
} from '../../../lib/domain/features/index.ts';
import { priorClimatologyModel } from '../../../lib/ml/climatology.ts';
import { gbdtFamily } from '../../../lib/ml/gbdt.ts';
import type { Model } from '../../../lib/ml/model.ts';
import { insertAlias } from '../../../lib/platform/clickhouse/queries/models.ts';
import { registerModels, type ModelRecord } from '../../../lib/models/registry.ts';
import { createRedis, type RedisHandle } from '../../../lib/platform/redis.ts';
import { STATE_KEYS, type LatestForecast } from '../../../lib/domain/state-keys.ts';
import { addDays } from '../../../lib/domain/time.ts';
import { predictStep } from '../../../consumers/predictor/step.ts';
import { testContext, type TestContext } from '../../support/integration.ts';
import { featuresStep } from '../../../consumers/features/step.ts';
import { prepareChampion, priorChampion } from '../../../lib/models/champion.ts';
import { TASKS } from '../../../lib/models/tasks.ts';

const THRESHOLD = 0.5;

function observation(location: string, date: string, i: number): Observation {
  // Deterministic readings with some structure: humid, low-pressure afternoons precede rain.
  const wave = Math.sin(i * 1.7) * 0.5 + Math.sin(i * 0.31) * 0.5;
  const rainfall = wave > 0.3 ? Math.round(wave * 200) / 10 : 0;
  return {
    location,
    date,
    minTemp: 10 + wave * 4,
    maxTemp: 22 + wave * 3,
    rainfall,
    evaporation: 4,
    sunshine: 8 - wave * 5,
    windGustDir: wave > 0 ? 'S' : 'NW',
    windGustSpeed: 35 + wave * 10,
    windDir9am: 'SSE',
    windDir3pm: wave > 0 ? 'SE' : null,
    windSpeed9am: 10,
    windSpeed3pm: 15,
    humidity9am: 60 + wave * 20,
    humidity3pm: 50 + wave * 30,
    pressure9am: 1015 - wave * 8,
    pressure3pm: 1013 - wave * 8,
    cloud9am: 4,
    cloud3pm: wave > 0 ? 7 : 2,
    temp9am: 15,
    temp3pm: 20 + wave,
    rainToday: rainfall > 1,
    source: 'test',
  };
}

function series(location: string, from: string, n: number): Observation[] {
  return Array.from({ length: n }, (_, i) => observation(location, addDays(from, i), i));
}

function championOf(version: string, model: Model): Champion {
  return {
    version,
    family: model.family,
    featureSetVersion: FEATURE_SET_VERSION,
    model,
    clip: null,
    trainedUntil: null,
  };
}

/** A source whose answer the test changes, as the watcher's does on a promotion. */
function switchableSource(initial: Champion): ChampionSource & { set(c: Champion): void } {
  let current = initial;
  return { current: () => current, close: async () => undefined, set: (c) => (current = c) };
}

let ctx: TestContext;
let app: FastifyInstance;
let appRedis: RedisHandle;
const prior = championOf('prior-climatology', priorClimatologyModel(FEATURE_NAMES));
let trained: Champion;
const champions = switchableSource(prior);

// Sydney: 10 days of history (2017-06-01 .. 06-10) and a latest forecast; Perth: neither.
const sydney = series('Sydney', '2017-06-01', 10);
let sydneyState: StationState;
const sydneyLatest: LatestForecast = {
  location: 'Sydney',
  date: '2017-06-10',
  forecastFor: '2017-06-11',
  probability: 0.375,
  decision: false,
  threshold: THRESHOLD,
  modelVersion: 'prior-climatology',
  featureSetVersion: FEATURE_SET_VERSION,
  predictedAt: 1_497_052_800_000,
};

beforeAll(async () => {
  ctx = await testContext('api');
  let state: StationState | null = null;
  for (const obs of sydney) state = featuresStep(state, obs, 0).state;
  sydneyState = state!;
  await ctx.redis.client.set(ctx.redis.key(...STATE_KEYS.station('Sydney')), JSON.stringify(sydneyState));
  await ctx.redis.client.set(ctx.redis.key(...STATE_KEYS.latest('Sydney')), JSON.stringify(sydneyLatest));

  const training = buildTrainingMatrix([
    ...series('Albury', '2016-01-01', 300),
    ...series('Perth', '2016-01-01', 300),
  ]);
  trained = championOf(
    'gbdt-test-1',
    gbdtFamily.fit(
      training.dataset,
      training.target,
      'classification',
      { maxIterations: 20, minSamplesLeaf: 5, validationFraction: 0, earlyStoppingRounds: 0 },
      { seed: 1 },
    ),
  );

  // The app owns (and closes) its clients; the context keeps its own for seeding and cleanup.
  appRedis = createRedis(ctx.config.redis);
  await ctx.ensureTopics();
  const codec = await ctx.registerSchemas();
  const producer = createProducer(ctx.kafka);
  await producer.connect();
  app = buildApp({
    redis: appRedis,
    clickhouse: createClickHouse(ctx.config.clickhouse),
    champions,
    taskChampions: new Map([['max_temp', switchableSource(priorChampion(TASKS.max_temp))]]),
    decisionThreshold: THRESHOLD,
    kafka: { kafka: ctx.kafka, producer, codec, registryUrl: ctx.config.registry.url },
    settings: apiSettingsOf(ctx.config),
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await ctx?.cleanup();
});

describe('health', () => {
  it('is live and ready when Redis, ClickHouse, Kafka and the schema registry answer', async () => {
    expect((await app.inject('/health')).json()).toMatchObject({ status: 'ok' });
    const ready = await app.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      down: [],
      checks: { redis: 'ok', clickhouse: 'ok', kafka: 'ok', schemaRegistry: 'ok' },
    });
  });

  it('answers 503 naming ClickHouse when it does not answer', async () => {
    // A real client aimed at a port nothing listens on.
    const down = buildApp({
      redis: createRedis(ctx.config.redis),
      clickhouse: createClickHouse({ ...ctx.config.clickhouse, url: 'http://127.0.0.1:9' }),
      champions: switchableSource(prior),
      decisionThreshold: THRESHOLD,
    });
    try {
      const res = await down.inject('/ready');
      expect(res.statusCode).toBe(503);
      // This app has no Kafka either: readiness names each dependency that does not answer.
      expect(res.json()).toMatchObject({
        status: 'unavailable',
        down: ['clickhouse', 'kafka', 'schemaRegistry'],
        checks: { redis: 'ok', kafka: 'not configured', schemaRegistry: 'not configured' },
      });
      // A query that cannot reach ClickHouse is an outage (503), its message kept out of the answer.
      const models = await down.inject('/models');
      expect(models.statusCode).toBe(503);
      expect(models.json()).toEqual({ error: 'service unavailable' });
    } finally {
      await down.close();
    }
  });
});

describe('GET /predict', () => {
  it("serves the station's latest forecast as stored", async () => {
    const res = await app.inject('/predict?location=Sydney');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toBe(JSON.stringify(sydneyLatest));
  });

  it('400 names the location when it is missing or malformed', async () => {
    for (const url of [
      '/predict',
      '/predict?location=',
      '/predict?location=Syd*ney',
      '/predict?location=a:b',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ error: 'invalid request', field: 'location' });
      expect(res.json().reason, url).toMatch(/^(is required|must be a station name)/);
    }
  });

  it('404 says whether the station is known to the feature set', async () => {
    const perth = await app.inject('/predict?location=Perth');
    expect(perth.statusCode).toBe(404);
    expect(perth.json()).toEqual({
      error: 'no forecast',
      location: 'Perth',
      knownStation: true,
      reason: 'Perth is a station but has no forecast yet',
    });
    const atlantis = await app.inject('/predict?location=Atlantis');
    expect(atlantis.statusCode).toBe(404);
    expect(atlantis.json()).toMatchObject({
      knownStation: false,
      reason: expect.stringContaining('not a station'),
    });
    // A case variant is not a second Sydney: /predict serves exactly what /locations lists.
    await ctx.redis.client.set(ctx.redis.key(...STATE_KEYS.latest('sydney')), '{"location":"sydney"}');
    const lower = await app.inject('/predict?location=sydney');
    expect(lower.statusCode).toBe(404);
    expect(lower.json()).toMatchObject({
      knownStation: false,
      reason: '"sydney" is not a station: names are case-sensitive, the station is "Sydney"',
    });
  });
});

describe('POST /predict', () => {
  const next = { ...observation('Sydney', '2017-06-11', 10), source: undefined };

  it("forecasts from the station's history with the stream's own feature and predict steps", async () => {
    champions.set(trained);
    const res = await app.inject({ method: 'POST', url: '/predict', payload: next });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const expected = predictStep(
      featuresStep(sydneyState, observation('Sydney', '2017-06-11', 10), 0).output!,
      prepareChampion(trained),
      THRESHOLD,
      0,
    );
    expect(body).toEqual({
      task: 'rain',
      location: 'Sydney',
      date: '2017-06-11',
      forecastFor: '2017-06-12',
      probability: expected.probability,
      decision: expected.probability >= THRESHOLD,
      threshold: THRESHOLD,
      modelVersion: 'gbdt-test-1',
      featureSetVersion: FEATURE_SET_VERSION,
      historyDays: 7,
    });
    // Read only: the stream's state is as it was.
    const stored = await ctx.redis.client.get(ctx.redis.key(...STATE_KEYS.station('Sydney')));
    expect(JSON.parse(stored!)).toEqual(sydneyState);
  });

  it("forecasts max_temp with its own champion when asked with task=max_temp; refuses rain's threshold there", async () => {
    const res = await app.inject({ method: 'POST', url: '/predict?task=max_temp', payload: next });
    expect(res.statusCode).toBe(200);
    const expected = predictStep(
      featuresStep(sydneyState, observation('Sydney', '2017-06-11', 10), 0).output!,
      prepareChampion(priorChampion(TASKS.max_temp)),
      THRESHOLD,
      0,
    );
    // The persistence prior serves until a max_temp model is promoted: tomorrow's maximum is today's.
    expect(expected.value).toBeCloseTo(observation('Sydney', '2017-06-11', 10).maxTemp!, 10);
    expect(res.json()).toEqual({
      task: 'max_temp',
      location: 'Sydney',
      date: '2017-06-11',
      forecastFor: '2017-06-12',
      value: expected.value,
      unit: '°C',
      modelVersion: 'prior-persistence',
      featureSetVersion: FEATURE_SET_VERSION,
      historyDays: 7,
    });
    const threshold = await app.inject({
      method: 'POST',
      url: '/predict?task=max_temp&threshold=0.3',
      payload: next,
    });
    expect(threshold.statusCode).toBe(400);
    expect(threshold.json()).toMatchObject({ field: 'threshold' });
    const unknown = await app.inject({ method: 'POST', url: '/predict?task=snow', payload: next });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ field: 'task' });
  });

  it('uses only the days before a date the history already holds, instead of refusing it', async () => {
    const again = { ...observation('Sydney', '2017-06-08', 7), source: 'test' };
    const res = await app.inject({ method: 'POST', url: '/predict', payload: again });
    expect(res.statusCode).toBe(200);
    // The state keeps 06-04 .. 06-10; before 06-08 that is 06-04 .. 06-07.
    expect(res.json()).toMatchObject({ date: '2017-06-08', forecastFor: '2017-06-09', historyDays: 4 });
  });

  it('works for a station with no history at all', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: { location: 'Perth', date: '2017-06-11' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ location: 'Perth', historyDays: 0, modelVersion: 'gbdt-test-1' });
  });

  it('shows a champion swap on the next request, without a restart', async () => {
    champions.set(prior);
    const before = (await app.inject({ method: 'POST', url: '/predict', payload: next })).json();
    expect(before.modelVersion).toBe('prior-climatology');
    expect(before.probability).toBeCloseTo(0.224, 10);
    expect((await app.inject('/models/champion')).json().serving.version).toBe('prior-climatology');
    champions.set(trained);
    const after = (await app.inject({ method: 'POST', url: '/predict', payload: next })).json();
    expect(after.modelVersion).toBe('gbdt-test-1');
    expect(after.probability).not.toBe(before.probability);
    expect((await app.inject('/models/champion')).json().serving).toEqual({
      version: 'gbdt-test-1',
      family: 'gbdt',
      featureSetVersion: FEATURE_SET_VERSION,
      trainedUntil: null,
    });
  });

  it.each([
    [{ humidity3pm: 101 }, 'humidity3pm', 'must be <= 100'],
    [{ cloud3pm: -1 }, 'cloud3pm', 'must be >= 0'],
    [{ windGustDir: 'North' }, 'windGustDir', expect.stringMatching(/^must be one of N, NNE, /)],
    [{ date: '2017-02-29' }, 'date', 'must be a calendar date YYYY-MM-DD'],
    [{ date: undefined }, 'date', 'is required'],
    [{ temp3pm: 'hot' }, 'temp3pm', 'must be number or null'],
    [{ location: 'Sydney Harbour' }, 'location', expect.stringMatching(/^must be a station name/)],
    [{ humidity: 50 }, 'humidity', 'is not an accepted field'],
    // The domain validation, the same as the CSV edge and the stages:
    [{ date: '9999-12-31' }, 'date', '9999-12-31 is outside the event-time range 1970-01-05 to 2105-12-31'],
    [{ date: '1900-01-01' }, 'date', expect.stringMatching(/outside the event-time range/)],
    [{ date: '2099-01-01' }, 'date', expect.stringMatching(/days after today .* at most 2 allowed/)],
    [{ location: 'sydney' }, 'location', expect.stringMatching(/the station is "Sydney"/)],
    [{ location: 'Atlantis' }, 'location', expect.stringMatching(/not a station of this deployment/)],
    [
      { maxTemp: 5, minTemp: 10, temp9am: null, temp3pm: null },
      'maxTemp',
      'maxTemp 5 °C is below minTemp 10 °C',
    ],
    [{ rainToday: false, rainfall: 80 }, 'rainToday', expect.stringMatching(/disagrees with rainfall 80 mm/)],
    [
      { rainToday: null, rainfall: 5 },
      'rainToday',
      expect.stringMatching(/is missing while rainfall is 5 mm/),
    ],
    [{ cloud9am: 4.5 }, 'cloud9am', '4.5 is not a whole number of oktas (0 to 9)'],
    [{ humidity3pm: '0x32' }, 'humidity3pm', 'must be number or null'],
    [{ windDir9am: 'N', windSpeed9am: 0 }, 'windDir9am', expect.stringMatching(/a calm has no direction/)],
  ])('400 for %j names %s: %s', async (change, field, reason) => {
    const res = await app.inject({ method: 'POST', url: '/predict', payload: { ...next, ...change } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid request', field, reason });
  });

  it('answers from no history when the stored station state is damaged, as the stage would', async () => {
    const key = ctx.redis.key(...STATE_KEYS.station('Hobart'));
    await ctx.redis.client.set(key, JSON.stringify({ v: 99, location: 'Hobart' }));
    const res = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: { location: 'Hobart', date: '2017-06-11' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ location: 'Hobart', historyDays: 0 });
    await ctx.redis.client.del(key);
  });

  it('hides the message of a server fault', async () => {
    // A key of the wrong Redis type: GET fails with WRONGTYPE, a fault of the server, not the request.
    const key = ctx.redis.key(...STATE_KEYS.station('Hobart'));
    await ctx.redis.client.hset(key, 'not', 'a string');
    const res = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: { location: 'Hobart', date: '2017-06-11' },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal server error' });
    await ctx.redis.client.del(key);
  });
});

describe('GET /locations', () => {
  it('lists every station with the dates of its forecast and history', async () => {
    const res = await app.inject('/locations');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.featureSetVersion).toBe(FEATURE_SET_VERSION);
    expect(body.locations.map((l: { location: string }) => l.location)).toEqual(
      [...STATIONS, 'Marrakech'].sort(),
    );
    const byName = new Map(body.locations.map((l: { location: string }) => [l.location, l]));
    expect(byName.get('Sydney')).toEqual({
      location: 'Sydney',
      forecastDate: '2017-06-10',
      forecastFor: '2017-06-11',
      threshold: sydneyLatest.threshold,
      lastObservationDate: '2017-06-10',
    });
    expect(byName.get('Perth')).toEqual({
      location: 'Perth',
      forecastDate: null,
      forecastFor: null,
      threshold: null,
      lastObservationDate: null,
    });
  });
});

describe('models', () => {
  function record(version: string, trainedAt: number): ModelRecord {
    return {
      version,
      family: 'gbdt',
      task: 'classification',
      params: { maxIterations: 20 },
      metrics: { auc: 0.8 },
      featureSetVersion: FEATURE_SET_VERSION,
      trainStart: '2016-01-01',
      trainEnd: '2016-10-26',
      rows: 598,
      positives: 150,
      codeVersion: 'test',
      bundle: { model: trained.model.toJSON(), clip: null },
      reference: null,
      status: 'candidate',
      trainedAt,
      trainSeconds: 0.1,
      peakRssMb: 100,
    };
  }

  it('says the prior is serving while no champion was promoted', async () => {
    const res = await app.inject('/models/champion');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ source: 'prior', version: null, model: null });
    expect(res.json().reason).toMatch(/prior climatology/);
  });

  it('lists the registry newest first, without artifacts, with the aliases', async () => {
    await registerModels(ctx.clickhouse, [
      record('m-001', Date.UTC(2017, 0, 1)),
      record('m-002', Date.UTC(2017, 0, 8)),
    ]);
    await insertAlias(
      ctx.clickhouse,
      'champion',
      'm-001',
      null,
      'first model beat the prior',
      Date.UTC(2017, 0, 2),
    );
    await insertAlias(
      ctx.clickhouse,
      'champion',
      'm-002',
      'm-001',
      'better Brier score',
      Date.UTC(2017, 0, 9),
    );
    const res = await app.inject('/models');
    expect(res.statusCode).toBe(200);
    const { models } = res.json();
    expect(models.map((m: { version: string }) => m.version)).toEqual(['m-002', 'm-001']);
    expect(models[0]).toMatchObject({
      family: 'gbdt',
      rows: 598,
      metrics: { auc: 0.8 },
      aliases: ['champion'],
    });
    expect(models[1].aliases).toEqual([]);
    expect(JSON.stringify(models)).not.toContain('artifact');
    expect((await app.inject('/models?limit=1')).json().models).toHaveLength(1);
    expect((await app.inject('/models?limit=0')).statusCode).toBe(400);
  });

  it('reads the champion alias and its model', async () => {
    const body = (await app.inject('/models/champion')).json();
    expect(body).toMatchObject({
      source: 'registry',
      version: 'm-002',
      previousVersion: 'm-001',
      reason: 'better Brier score',
      model: { version: 'm-002', family: 'gbdt', rows: 598, featureSetVersion: FEATURE_SET_VERSION },
    });
  });
});

describe('GET /metrics/prequential', () => {
  beforeAll(async () => {
    const rows: [string, string, number, number | null, string][] = [
      ['Sydney', '2017-01-01', 0.9, 1, 'm-001'],
      ['Sydney', '2017-01-02', 0.2, 0, 'm-001'],
      ['Sydney', '2017-01-03', 0.7, 0, 'm-001'],
      ['Sydney', '2017-01-04', 0.1, 0, 'm-001'],
      ['Perth', '2017-02-01', 0.6, 1, 'm-002'],
      ['Perth', '2017-02-02', 0.6, null, 'm-002'],
    ];
    const t = Math.floor(Date.UTC(2017, 0, 1) / 1000);
    await ctx.clickhouse.insertRows(
      'predictions',
      rows.map(([location, date, probability, , model]) => ({
        // ClickHouse 18.16 gives an omitted JSON field the type's default, not the column's: name the task.
        task: 'rain',
        location,
        date,
        probability,
        decision: probability >= THRESHOLD ? 1 : 0,
        threshold: THRESHOLD,
        model_version: model,
        feature_set_version: FEATURE_SET_VERSION,
        ingested_at: t,
        predicted_at: t,
        lag_ms: 5,
        ver: 1,
      })),
    );
    await ctx.clickhouse.insertRows(
      'actuals',
      rows.map(([location, date, , label]) => ({
        task: 'rain',
        location,
        date,
        status: label === null ? 'missing' : 'joined',
        rain_tomorrow: label,
        rainfall_tomorrow_mm: label === null ? null : label * 5,
        joined_at: t,
        ver: 1,
      })),
    );
  });

  it('scores the joined predictions overall', async () => {
    const res = await app.inject('/metrics/prequential');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ grouping: 'overall', from: null, to: null });
    expect(body.scores).toHaveLength(1);
    const [all] = body.scores;
    expect(all).toMatchObject({ bucket: 'all', n: 5, positives: 2 });
    expect(all.brier).toBeCloseTo((0.01 + 0.04 + 0.49 + 0.01 + 0.16) / 5, 12);
    expect(all.accuracy).toBeCloseTo(0.8, 12);
    expect(all.auc).toBeCloseTo(5 / 6, 12);
  });

  it('groups by location and filters by date; one class has no AUC', async () => {
    const res = await app.inject('/metrics/prequential?grouping=location&from=2017-01-02&to=2017-02-28');
    const body = res.json();
    expect(body).toMatchObject({ grouping: 'location', from: '2017-01-02', to: '2017-02-28' });
    expect(body.scores.map((s: { bucket: string; n: number }) => [s.bucket, s.n])).toEqual([
      ['Perth', 1],
      ['Sydney', 3],
    ]);
    expect(body.scores[0].auc).toBeNull();
  });

  it('refuses an unknown grouping and an inverted range', async () => {
    expect((await app.inject('/metrics/prequential?grouping=month')).json()).toMatchObject({
      field: 'grouping',
    });
    const inverted = await app.inject('/metrics/prequential?from=2017-03-01&to=2017-01-01');
    expect(inverted.statusCode).toBe(400);
    expect(inverted.json()).toMatchObject({ field: 'to', reason: 'must not be before from (2017-03-01)' });
  });
});

describe('GET /openapi.json', () => {
  it('documents every route with the schemas it enforces', async () => {
    const res = await app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/',
      '/admin/deliveries',
      '/admin/models/rollback',
      '/admin/models/{version}/promote',
      '/admin/retrain',
      '/admin/subscriptions',
      '/admin/subscriptions/{id}',
      '/drift',
      '/health',
      '/locations',
      '/metrics',
      '/metrics/prequential',
      '/models',
      '/models/champion',
      '/models/{version}',
      '/openapi.json',
      '/pipeline',
      '/predict',
      '/predictions',
      '/quality',
      '/ready',
    ]);
    expect(doc.paths['/admin/retrain'].post.security).toEqual([{ adminToken: [] }]);
    const threshold = doc.paths['/predict'].get.parameters.find(
      (p: { name: string }) => p.name === 'threshold',
    );
    expect(threshold).toMatchObject({ in: 'query', required: false });
    const body = doc.paths['/predict'].post.requestBody.content['application/json'].schema;
    expect(body.properties.humidity3pm.anyOf).toContainEqual({ type: 'number', minimum: 0, maximum: 100 });
    expect(body.additionalProperties).toBe(false);
  });
});

describe('hostile query strings and path values on every documented GET route', () => {
  // Whatever a client puts in a parameter, the answer is never a 5xx, and a 400 names the parameter.
  const HOSTILE = [
    '',
    ' ',
    'x'.repeat(5_000),
    '-1',
    '1e308',
    'NaN',
    'Infinity',
    '9999-12-31',
    '0000-00-00',
    '2017-02-30',
    "'; DROP TABLE predictions; --",
    '%00',
    '\u0000',
    '日本',
    '[]',
    '{"a":1}',
    'true',
    '-0',
    '../../etc/passwd',
  ];

  it('answers no 5xx, and a 400 names the field, for each parameter and value', async () => {
    const doc = (await app.inject('/openapi.json')).json() as {
      paths: Record<string, { get?: { parameters?: { name: string; in: string; required?: boolean }[] } }>;
    };
    // The other parameters keep values the route accepts, so that each answer is about the one tried.
    const VALID: Record<string, string> = { location: 'Sydney', version: 'prior-climatology' };
    const failures: string[] = [];
    let requests = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      // This app has no ADMIN_TOKEN: the admin routes answer 503 whatever they are sent (face.test.ts
      // tries them with tokens).
      if (!item.get || path.startsWith('/admin/')) continue;
      const parameters = item.get.parameters ?? [];
      const required = parameters.filter((p) => p.in === 'query' && p.required).map((p) => p.name);
      const urlWith = (name: string, value: string) => {
        const filled = path.replace(/\{(\w+)\}/g, (_, p: string) =>
          encodeURIComponent(p === name ? value : (VALID[p] ?? 'x')),
        );
        const query = new URLSearchParams();
        for (const r of required) if (r !== name) query.set(r, VALID[r] ?? 'x');
        if (parameters.some((p) => p.in === 'query' && p.name === name)) query.set(name, value);
        const text = query.toString();
        return text ? `${filled}?${text}` : filled;
      };
      for (const { name } of parameters) {
        for (const value of HOSTILE) {
          const url = urlWith(name, value);
          const res = await app.inject(url);
          requests++;
          const where = `GET ${url.slice(0, 90)} (${name})`;
          if (res.statusCode >= 500) failures.push(`${where}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          else if (res.statusCode === 400) {
            const body = res.json() as { field?: string; reason?: string };
            if (body.field !== name || !body.reason)
              failures.push(`${where}: 400 without the field and reason: ${res.body.slice(0, 200)}`);
          }
        }
      }
    }
    expect(requests).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });
});

describe('query parameters given more than once, and floods of them', () => {
  it('every query parameter of every documented route is refused given twice, naming it', async () => {
    const doc = (await app.inject('/openapi.json')).json() as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    // A value each parameter would accept given once, so the repeat is the only fault.
    const VALID: Record<string, string> = {
      location: 'Sydney',
      from: '2017-01-01',
      to: '2017-01-31',
      model: 'prior-climatology',
      task: 'rain',
      threshold: '0.5',
      limit: '5',
      grouping: 'overall',
      groupBy: 'overall',
    };
    const failures: string[] = [];
    let tried = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      // Admin routes answer 503 here before reading their query (no ADMIN_TOKEN); face.test.ts has tokens.
      if (path.startsWith('/admin/') || !item.get) continue;
      const names = (item.get.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      for (const name of names) {
        const query = new URLSearchParams();
        if (name !== 'location' && names.includes('location')) query.set('location', 'Sydney');
        query.append(name, VALID[name] ?? 'x');
        query.append(name, VALID[name] ?? 'x');
        const url = `${path}?${query}`;
        const res = await app.inject(url);
        tried++;
        const body = res.json() as { field?: string; reason?: string };
        if (res.statusCode !== 400 || body.field !== name || body.reason !== 'given 2 times; give it once')
          failures.push(`GET ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(tried).toBeGreaterThan(15);
    expect(failures).toEqual([]);
  });

  it('a flood of unknown parameters is answered with the first issues and the number left out', async () => {
    const unknown = Array.from({ length: 1_000 }, (_, i) => `p${i}=1`).join('&');
    const res = await app.inject(`/predictions?location=Sydney&from=2017-01-01&from=2017-02-01&${unknown}`);
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({
      error: 'invalid request',
      field: 'from',
      reason: 'given 2 times; give it once',
      issuesLeftOut: 1_001 - body.issues.length,
    });
    expect(body.issues.length).toBeLessThan(100);
    expect(res.body.length).toBeLessThan(5_000);
  });
});

describe('unknown routes', () => {
  it('answer 404 in JSON', async () => {
    const res = await app.inject('/nope?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: 'no route GET /nope',
      field: 'url',
      reason: 'names no route of this API',
    });
  });
});
