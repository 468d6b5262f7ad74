/**
 * Hostile HTTP input the corpus (test/hostile/corpus.ts) does not send: framework-level refusals (body
 * parsing, URL decoding, path parameters), content encodings and charsets, free text and headers that end
 * up in Kafka or ClickHouse. Every refusal is a 4xx naming the part of the request at fault and why, in
 * the API's own shape (no framework codes, no echo of internals), and nothing refused reaches a store.
 * The app runs on the real Redis, ClickHouse and Kafka of the local stack, through `app.inject`.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSettingsOf, buildApp } from '../../../api/app.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import { createClickHouse } from '../../../lib/platform/clickhouse/client.ts';
import { createRedis } from '../../../lib/platform/redis.ts';
import { priorChampion, type Champion, type ChampionSource } from '../../../lib/models/champion.ts';
import { TASKS } from '../../../lib/models/tasks.ts';
import { testContext, type TestContext } from '../../support/integration.ts';

const TOKEN = 'hostile-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };
const observation = {
  location: 'Sydney',
  date: '2017-06-11',
  minTemp: 10,
  maxTemp: 20,
  rainfall: 0,
  rainToday: false,
};

const source = (champion: Champion): ChampionSource => ({
  current: () => champion,
  close: async () => undefined,
});

let ctx: TestContext;
let app: FastifyInstance;

beforeAll(async () => {
  ctx = await testContext('api-hostile');
  await ctx.ensureTopics();
  const codec = await ctx.registerSchemas();
  const producer = createProducer(ctx.kafka);
  await producer.connect();
  app = buildApp({
    redis: createRedis(ctx.config.redis),
    clickhouse: createClickHouse(ctx.config.clickhouse),
    champions: source(priorChampion(TASKS.rain)),
    taskChampions: new Map([['max_temp', source(priorChampion(TASKS.max_temp))]]),
    decisionThreshold: 0.5,
    kafka: { kafka: ctx.kafka, producer, codec, registryUrl: ctx.config.registry.url },
    settings: { ...apiSettingsOf(ctx.config), adminToken: TOKEN, allowedHosts: ['example.com'] },
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await ctx?.cleanup();
});

/** A refusal in the API's shape: the status, the field at fault, a reason, nothing of the framework. */
function expectRefusal(
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
  status: number,
  field: string,
  what: string,
) {
  expect(res.statusCode, what).toBe(status);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body, what).toMatchObject({ error: 'invalid request', field });
  expect(typeof body.reason, what).toBe('string');
  expect(res.body, what).not.toMatch(/FST_|statusCode|stack|node_modules/);
  // The API's security headers go on every answer, refusals included.
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
}

describe('refusals of the framework, in the API shape', () => {
  it('a body that is not JSON, empty, too large or of another length than announced names it', async () => {
    const post = (payload: string, headers: Record<string, string> = json) =>
      app.inject({ method: 'POST', url: '/predict', payload, headers });
    expectRefusal(await post('{"location":'), 400, 'body', 'cut JSON');
    expectRefusal(await post('{"location":"Sydney"}trailing'), 400, 'body', 'text after the JSON');
    expectRefusal(await post('{"humidity3pm":0x32}'), 400, 'body', 'hex literal');
    expectRefusal(
      await post('{"location":"Sydney","date":"2017-06-11","__proto__":{"polluted":1}}'),
      400,
      'body',
      '__proto__ key',
    );
    expectRefusal(await post(''), 400, 'body', 'empty body');
    expectRefusal(
      await post(JSON.stringify({ ...observation, source: 'x'.repeat(20_000) })),
      413,
      'body',
      'big',
    );
    expectRefusal(
      await post(JSON.stringify(observation), { ...json, 'content-length': '5' }),
      400,
      'content-length',
      'content-length smaller than the body',
    );
  });

  it('a media type the route does not read names content-type', async () => {
    for (const type of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/json',
      '',
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: '/predict',
        payload: JSON.stringify(observation),
        headers: { 'content-type': type },
      });
      expectRefusal(res, 415, 'content-type', `content-type ${JSON.stringify(type)}`);
    }
  });

  it('a URL that is not percent-encoded UTF-8, or a path parameter past its length, names the url', async () => {
    for (const url of [
      '/models/%E0',
      '/models/%c0%ae%c0%ae',
      '/assets/%c0%ae%c0%ae/package.json',
      '/admin/subscriptions/%ff',
    ]) {
      expectRefusal(await app.inject({ url, headers: auth }), 400, 'url', url);
    }
    const long = await app.inject(`/models/${'a'.repeat(200)}`);
    expect(long.statusCode).toBeGreaterThanOrEqual(400);
    expect(long.statusCode).toBeLessThan(500);
    expectRefusal(long, long.statusCode, 'url', 'a 200-character version');
    // The path is not echoed back (it is the client's own text, possibly megabytes of it).
    expect(long.body).not.toContain('a'.repeat(150));
  });
});

describe('bodies the API would misread', () => {
  const post = (payload: string | Buffer, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/predict', payload, headers: { ...json, ...headers } });

  it('a compressed body (any Content-Encoding but identity) is refused naming content-encoding', async () => {
    const { gzipSync } = await import('node:zlib');
    const text = JSON.stringify(observation);
    for (const [encoding, payload] of [
      ['gzip', gzipSync(text)],
      ['gzip', Buffer.from('not gzip at all')],
      ['gzip', text],
      ['br', text],
      ['deflate, gzip', text],
    ] as const) {
      expectRefusal(
        await post(payload, { 'content-encoding': encoding }),
        415,
        'content-encoding',
        `${encoding} ${typeof payload === 'string' ? 'plain' : 'bytes'}`,
      );
    }
    // identity is no encoding at all.
    expect((await post(text, { 'content-encoding': 'identity' })).statusCode).toBe(200);
  });

  it('a charset other than UTF-8 is refused naming content-type', async () => {
    const text = JSON.stringify(observation);
    for (const [type, payload] of [
      ['application/json; charset=utf-16le', Buffer.from(text, 'utf16le')],
      ['application/json; charset=latin1', Buffer.from(text, 'latin1')],
      ['application/json; charset="iso-8859-1"', text],
      ['text/plain; charset=utf-16', text],
    ] as const) {
      expectRefusal(await post(payload, { 'content-type': type }), 415, 'content-type', type);
    }
    for (const type of [
      'application/json; charset=utf-8',
      'application/json; charset="UTF-8"',
      'application/json',
    ]) {
      expect((await post(text, { 'content-type': type })).statusCode, type).toBe(200);
    }
  });
});

describe('admin input that would reach Kafka and ClickHouse', () => {
  const postAdmin = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url,
      payload: JSON.stringify(body),
      headers: { ...json, ...auth, ...headers },
    });
  const subscriptionIds = async () =>
    (
      (await app.inject({ url: '/admin/subscriptions', headers: auth })).json() as {
        subscriptions: { id: string }[];
      }
    ).subscriptions.map((s) => s.id);
  const forecast = { kind: 'forecast', threshold: 0.5, url: 'https://example.com/hook' };

  it('a forecast subscription names a station of the deployment', async () => {
    const before = await subscriptionIds();
    for (const location of ['Atlantis', 'sydney']) {
      expectRefusal(
        await postAdmin('/admin/subscriptions', { ...forecast, location }),
        400,
        'location',
        location,
      );
    }
    expect(await subscriptionIds()).toEqual(before);
    expect((await postAdmin('/admin/subscriptions', { ...forecast, location: 'Sydney' })).statusCode).toBe(
      201,
    );
  });

  it('free text is text: no control characters, no unpaired surrogates', async () => {
    const before = await subscriptionIds();
    for (const reason of ['\ud800', 'a\u0000b', 'bell\u0007', 'x\udc00y']) {
      const what = JSON.stringify(reason);
      expectRefusal(await postAdmin('/admin/retrain', { reason }), 400, 'reason', `reason ${what}`);
      expectRefusal(
        await postAdmin('/admin/retrain', { reason: 'ok', requestedBy: reason }),
        400,
        'requestedBy',
        `requestedBy ${what}`,
      );
      expectRefusal(
        await postAdmin('/admin/models/rollback', { reason }),
        400,
        'reason',
        `rollback reason ${what}`,
      );
      expectRefusal(
        await postAdmin('/admin/subscriptions', {
          kind: 'champion',
          url: 'https://example.com/h',
          description: reason,
        }),
        400,
        'description',
        `description ${what}`,
      );
    }
    // A secret with an unpaired surrogate would be another key once encoded: signatures would not verify.
    expectRefusal(
      await postAdmin('/admin/subscriptions', {
        kind: 'champion',
        url: 'https://example.com/h',
        secret: `${'k'.repeat(16)}\ud800`,
      }),
      400,
      'secret',
      'secret',
    );
    // Line breaks and tabs are text.
    expect((await postAdmin('/admin/retrain', { reason: 'line one\n\tline two' })).statusCode).toBe(202);
    expect(await subscriptionIds()).toEqual(before);
  });

  it('x-requested-by, stored as the subscription creator, is a short printable name', async () => {
    const before = await subscriptionIds();
    const body = { kind: 'champion', url: 'https://example.com/h' };
    for (const value of ['x'.repeat(1000), 'caf\u00e9', ' ']) {
      const res = await postAdmin('/admin/subscriptions', body, { 'x-requested-by': value });
      expectRefusal(res, 400, 'x-requested-by', `x-requested-by ${JSON.stringify(value.slice(0, 20))}`);
    }
    expect(await subscriptionIds()).toEqual(before);
    const ok = await postAdmin('/admin/subscriptions', body, { 'x-requested-by': 'ops-bot' });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ createdBy: 'ops-bot' });
  });
});

describe('admin query strings and bodies past what a client means', () => {
  it("the delivery log's parameters given twice are named, with how many times", async () => {
    for (const [url, field] of [
      ['/admin/deliveries?limit=5&limit=5', 'limit'],
      ['/admin/deliveries?subscription=aaaaaaaa-aaaa&subscription=bbbbbbbb-bbbb', 'subscription'],
    ] as const) {
      const res = await app.inject({ url, headers: auth });
      expectRefusal(res, 400, field, url);
      expect(res.json().reason, url).toBe('given 2 times; give it once');
    }
  });

  it('a body of a thousand unknown fields is answered with the first issues and how many more', async () => {
    const payload: Record<string, unknown> = { kind: 'sms', url: 'https://example.com/hook' };
    for (let i = 0; i < 1_000; i++) payload[`f${i}`] = i;
    const res = await app.inject({
      method: 'POST',
      url: '/admin/subscriptions',
      payload: JSON.stringify(payload),
      headers: { ...json, ...auth },
    });
    expectRefusal(res, 400, 'kind', 'a thousand unknown fields');
    const body = res.json() as { issues: unknown[]; issuesLeftOut: number };
    expect(body.issues.length).toBeLessThan(100);
    expect(body.issuesLeftOut).toBe(1_001 - body.issues.length);
    expect(res.body.length).toBeLessThan(5_000);
  });
});

describe('every refusal names what is at fault', () => {
  it('a method a path does not take is a 405 naming the method, with the ones it takes', async () => {
    for (const [method, url, allowed] of [
      ['PUT', '/predict?location=Sydney', ['GET', 'HEAD', 'POST']],
      ['DELETE', '/models', ['GET', 'HEAD']],
      ['OPTIONS', '/', ['GET', 'HEAD']],
      ['PATCH', '/admin/subscriptions/aaaaaaaa-aaaa', ['DELETE']],
      ['POST', '/assets/app.js', ['GET', 'HEAD']],
    ] as const) {
      const res = await app.inject({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers.allow, `${method} ${url}`).toBe(allowed.join(', '));
      expect(res.json(), `${method} ${url}`).toMatchObject({ field: 'method', reason: expect.any(String) });
    }
  });

  it('a path of no route, a model or a subscription that is not there, name url, version and id', async () => {
    for (const location of ['Atlantis', 'sydney']) {
      const station = await app.inject(`/predict?location=${location}`);
      expect(station.statusCode).toBe(404);
      expect(station.json()).toMatchObject({
        field: 'location',
        knownStation: false,
        reason: expect.any(String),
      });
    }
    for (const url of [
      '/assets/',
      '/assets/app.js%00.png',
      '/assets/....//package.json',
      '/assets/%5c..%5cpackage.json',
    ]) {
      expectRefusal(await app.inject(url), 403, 'url', url);
    }
    const none = await app.inject('/nowhere?x=1');
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ field: 'url', reason: expect.any(String) });
    const model = await app.inject('/models/no-such-version');
    expect(model.statusCode).toBe(404);
    expect(model.json()).toMatchObject({
      field: 'version',
      reason: expect.stringContaining('no-such-version'),
    });
    const promote = await app.inject({
      method: 'POST',
      url: '/admin/models/no-such-version/promote',
      payload: '{}',
      headers: { ...json, ...auth },
    });
    expect(promote.statusCode).toBe(404);
    expect(promote.json()).toMatchObject({ field: 'version' });
    const rollback = await app.inject({
      method: 'POST',
      url: '/admin/models/rollback',
      payload: '{}',
      headers: { ...json, ...auth },
    });
    expect(rollback.statusCode).toBe(409);
    expect(rollback.json()).toMatchObject({
      field: 'task',
      reason: expect.stringContaining('previous version'),
    });
    const id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
    const unsubscribe = await app.inject({
      method: 'DELETE',
      url: `/admin/subscriptions/${id}`,
      headers: auth,
    });
    expect(unsubscribe.statusCode).toBe(404);
    expect(unsubscribe.json()).toMatchObject({ field: 'id', reason: expect.stringContaining(id) });
  });
});

describe('requests Node refuses to parse', () => {
  /** Raw bytes to the listening server, and what comes back before it closes the connection. */
  const raw = async (request: string): Promise<string> => {
    const { connect } = await import('node:net');
    const address = app.server.address() as { port: number };
    return new Promise((resolve) => {
      const socket = connect(address.port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('close', () => resolve(answer));
      socket.on('error', () => undefined);
      socket.end(Buffer.from(request, 'latin1'));
    });
  };

  it('answer in the API shape, naming the request or its headers', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const cases: [string, number, string][] = [
      ['GET /predict?location=Syd\u0000ney HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'request'],
      ['GET /predict?location=Syd ney HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'request'],
      [
        'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        400,
        'request',
      ],
      [
        'GET /predict?location=Sydney HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(20_000) + '\r\n\r\n',
        431,
        'headers',
      ],
    ];
    for (const [request, status, field] of cases) {
      const answer = await raw(request);
      const what = JSON.stringify(request.slice(0, 60));
      expect(answer, what).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      expect(body, what).toMatchObject({ error: 'invalid request', field, reason: expect.any(String) });
      expect(answer, what).toMatch(/\r\nx-content-type-options: nosniff\r\n/i);
    }
  });
});

describe('admin routes', () => {
  it('refuse a client without the token before reading what it sends', async () => {
    const cases: [Record<string, string>, number][] = [
      [{}, 401],
      [{ authorization: 'Basic abc' }, 401],
      [{ authorization: 'Bearer wrong-token' }, 403],
    ];
    for (const [headers, status] of cases) {
      for (const payload of ['{"reason":', '{"nope":1}', '[]']) {
        const res = await app.inject({
          method: 'POST',
          url: '/admin/retrain',
          payload,
          headers: { ...json, ...headers },
        });
        // Neither the body's parse error nor its validation reaches a client that is not an operator.
        expect(res.statusCode, `${JSON.stringify(headers)} ${payload}`).toBe(status);
        expect(res.json(), payload).toMatchObject({ field: 'authorization' });
      }
      const params = await app.inject({ method: 'DELETE', url: '/admin/subscriptions/zzz', headers });
      expect(params.statusCode).toBe(status);
    }
  });

  // Last in the file: it spends this client's admin budget.
  it('count refused guesses of the token against the admin rate limit', async () => {
    let status = 0;
    for (let i = 0; i < 200 && status !== 429; i++) {
      status = (
        await app.inject({ url: '/admin/deliveries', headers: { authorization: `Bearer guess-${i}` } })
      ).statusCode;
    }
    expect(status).toBe(429);
  });
});
