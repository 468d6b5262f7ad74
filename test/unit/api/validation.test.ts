import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiErrorHandler, apiServerOptions } from '../../../api/app.ts';
import { observationBodySchema } from '../../../api/observation-body.ts';
import {
  predictQuerySchema,
  prequentialQuerySchema,
  qualityQuerySchema,
  subscriptionBodySchema,
  type ErrorBody,
} from '../../../api/schemas.ts';
import {
  MAX_ISSUES,
  repeatedParameterIssues,
  validationIssues,
  zodValidatorCompiler,
} from '../../../api/validation.ts';

/** A server with the API's validator, schemas and error handler, echoing what passed validation. */
let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify(apiServerOptions());
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setErrorHandler(apiErrorHandler);
  app.post('/obs', { schema: { body: observationBodySchema } }, (r) => r.body);
  app.post('/sub', { schema: { body: subscriptionBodySchema } }, (r) => r.body);
  app.get('/q', { schema: { querystring: predictQuerySchema } }, (r) => r.query);
  app.get('/scores', { schema: { querystring: prequentialQuerySchema } }, (r) => r.query);
  app.get('/quality', { schema: { querystring: qualityQuerySchema } }, (r) => r.query);
  await app.ready();
});
afterAll(() => app.close());

async function post(body: unknown): Promise<{ status: number; json: ErrorBody & Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: '/obs', payload: body as object });
  return { status: res.statusCode, json: res.json() };
}

const valid = { location: 'Sydney', date: '2017-06-01' };

describe('observation body', () => {
  it('accepts a minimal observation and keeps numbers as numbers', async () => {
    const res = await post({ ...valid, humidity3pm: 55, windDir9am: 'NNE', rainToday: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ...valid, humidity3pm: 55, windDir9am: 'NNE', rainToday: null });
  });

  it.each([
    [{ humidity3pm: 150 }, 'humidity3pm', 'must be <= 100'],
    [{ pressure9am: 700 }, 'pressure9am', 'must be >= 850'],
    [{ rainfall: -1 }, 'rainfall', 'must be >= 0'],
    [{ humidity3pm: '55' }, 'humidity3pm', 'must be number or null'],
    [
      { windDir9am: 'NORTH' },
      'windDir9am',
      'must be one of N, NNE, NE, ENE, E, ESE, SE, SSE, S, SSW, SW, WSW, W, WNW, NW, NNW (or null)',
    ],
    [{ rainToday: 'yes' }, 'rainToday', 'must be boolean or null'],
    [{ date: '2017-02-30' }, 'date', 'must be a calendar date YYYY-MM-DD'],
    [{ date: '2016-02-29', humidity9am: 101 }, 'humidity9am', 'must be <= 100'],
    [
      { location: 'Syd:ney' },
      'location',
      "must be a station name: a letter, then letters, digits, '_' or '-', at most 64 characters",
    ],
    [{ humidity3PM: 40 }, 'humidity3PM', 'is not an accepted field'],
  ])('refuses %j: %s %s', async (change, field, reason) => {
    const res = await post({ ...valid, ...change });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid request', field, reason });
  });

  it('names a missing required field', async () => {
    const res = await post({ date: '2017-06-01' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ field: 'location', reason: 'is required' });
  });

  it('reports every bad field, the first as field/reason', async () => {
    const res = await post({ ...valid, humidity3pm: 150, cloud9am: 10, windDir3pm: 'X' });
    expect(res.json.issues).toEqual([
      { field: 'humidity3pm', reason: 'must be <= 100' },
      { field: 'cloud9am', reason: 'must be <= 9' },
      { field: 'windDir3pm', reason: expect.stringMatching(/^must be one of N, /) },
    ]);
    expect(res.json.field).toBe('humidity3pm');
  });

  it('refuses a body that is not an object', async () => {
    const res = await post([1, 2]);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ field: 'body', reason: 'must be object' });
  });

  it('never answers 5xx to a body that is not JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/obs',
      headers: { 'content-type': 'application/json' },
      payload: '{"location": ',
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('query strings', () => {
  it('needs a well-formed location', async () => {
    const missing = await app.inject({ url: '/q' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ field: 'location', reason: 'is required' });
    const twice = await app.inject({ url: '/q?location=Sydney&location=Perth' });
    expect(twice.json()).toMatchObject({ field: 'location', reason: 'given 2 times; give it once' });
    expect((await app.inject({ url: '/q?location=Sydney' })).json()).toEqual({
      location: 'Sydney',
      task: 'rain',
    });
  });

  it('parses a threshold in [0, 1] and names it otherwise', async () => {
    expect((await app.inject({ url: '/q?location=Sydney&threshold=0.7' })).json()).toEqual({
      location: 'Sydney',
      task: 'rain',
      threshold: 0.7,
    });
    expect((await app.inject({ url: '/q?location=Sydney&threshold=1' })).json().threshold).toBe(1);
    for (const bad of ['1.5', '-0.1', 'abc', '', '0x1', '1e-1', 'NaN']) {
      const res = await app.inject({ url: `/q?location=Sydney&threshold=${encodeURIComponent(bad)}` });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json(), bad).toMatchObject({ field: 'threshold', reason: 'must be a number from 0 to 1' });
    }
  });

  it('takes a known task, rain by default, and names the field of an unknown one', async () => {
    expect((await app.inject({ url: '/q?location=Sydney&task=max_temp' })).json()).toMatchObject({
      task: 'max_temp',
    });
    const res = await app.inject({ url: '/q?location=Sydney&task=wind' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'task', reason: 'must be one of rain, max_temp' });
  });

  it('refuses an unknown query parameter, naming it', async () => {
    const res = await app.inject({ url: '/q?location=Sydney&treshold=0.5' });
    expect(res.json()).toMatchObject({ field: 'treshold', reason: 'is not an accepted field' });
  });

  it('names a parameter given more than once, whatever its type, with how many times', async () => {
    for (const [url, field, times] of [
      ['/q?location=Sydney&location=Sydney', 'location', 2],
      ['/q?location=Sydney&task=rain&task=rain&task=wind', 'task', 3],
      ['/q?location=Sydney&threshold=0.5&threshold=0.7', 'threshold', 2],
      ['/scores?from=2017-01-01&from=2017-02-01', 'from', 2],
      ['/quality?groupBy=month&groupBy=month', 'groupBy', 2],
    ] as const) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({
        error: 'invalid request',
        field,
        reason: `given ${times} times; give it once`,
        issues: [{ field, reason: `given ${times} times; give it once` }],
      });
    }
  });

  it('lists a repeat among the other faults, and an unknown parameter as unknown however often given', async () => {
    const res = await app.inject('/q?location=Sydney&location=Perth&threshold=2&treshold=1&treshold=2');
    expect(res.json().issues).toEqual([
      { field: 'location', reason: 'given 2 times; give it once' },
      { field: 'threshold', reason: 'must be a number from 0 to 1' },
      { field: 'treshold', reason: 'is not an accepted field' },
    ]);
  });

  it('checks groupBy of the quality report', async () => {
    expect((await app.inject({ url: '/quality' })).json()).toEqual({ task: 'rain', groupBy: 'overall' });
    const bad = await app.inject({ url: '/quality?groupBy=decade' });
    expect(bad.json()).toMatchObject({
      field: 'groupBy',
      reason: 'must be one of overall, location, season, month, week, model, year',
    });
  });

  it('words the subscription body checks', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/sub',
      payload: { kind: 'sms', url: 'https://x', secret: 'short' },
    });
    expect(res.json().issues).toEqual([
      { field: 'kind', reason: 'must be one of forecast, champion, drift' },
      { field: 'secret', reason: 'must be at least 16 characters' },
    ]);
  });

  it('fills the default grouping and checks its values', async () => {
    expect((await app.inject({ url: '/scores' })).json()).toEqual({ grouping: 'overall' });
    const bad = await app.inject({ url: '/scores?grouping=month' });
    expect(bad.json()).toMatchObject({
      field: 'grouping',
      reason: 'must be one of overall, location, year, season, week, model',
    });
  });
});

describe('a 400 with many faults', () => {
  const unknown = (n: number) => Array.from({ length: n }, (_, i) => `p${i}=1`).join('&');

  it(`lists the first ${MAX_ISSUES} issues and says how many more were left out`, async () => {
    const res = await app.inject(`/q?location=Syd:ney&${unknown(2_000)}`);
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({
      error: 'invalid request',
      field: 'location',
      reason: expect.stringMatching(/^must be a station name/),
      issuesLeftOut: 2_001 - MAX_ISSUES,
    });
    expect(body.issues).toHaveLength(MAX_ISSUES);
    expect(body.issues[1]).toEqual({ field: 'p0', reason: 'is not an accepted field' });
    expect(res.body.length).toBeLessThan(4_000);
    // At the bound, every issue and no count.
    const atBound = await app.inject(`/q?location=Sydney&${unknown(MAX_ISSUES)}`);
    expect(atBound.json().issues).toHaveLength(MAX_ISSUES);
    expect(atBound.json()).not.toHaveProperty('issuesLeftOut');
    // Never short of the fields of the widest schema, so that only a flood is cut.
    expect(Object.keys(observationBodySchema.shape).length).toBeLessThanOrEqual(MAX_ISSUES);
  });

  it('bounds a body of a thousand unknown fields alike, the faults in known fields first', async () => {
    const payload: Record<string, unknown> = { ...valid, humidity3pm: 150 };
    for (let i = 0; i < 1_000; i++) payload[`f${i}`] = i;
    const res = await post(payload);
    expect(res.json).toMatchObject({ field: 'humidity3pm', reason: 'must be <= 100' });
    expect(res.json.issues).toHaveLength(MAX_ISSUES);
    expect(res.json.issuesLeftOut).toBe(1_001 - MAX_ISSUES);
  });

  it('quotes and cuts the name of a long unknown field', async () => {
    const res = await app.inject(`/q?location=Sydney&${'x'.repeat(5_000)}=1`);
    expect(res.json()).toMatchObject({
      field: `"${'x'.repeat(64)}"… (5000 characters)`,
      reason: 'is not an accepted field',
    });
  });
});

describe('validationIssues', () => {
  it('gives one issue per field, unknown keys one each, the whole part by its name', () => {
    const schema = z.strictObject({ a: z.object({ b: z.number().max(3) }), c: z.string() });
    const parsed = schema.safeParse({ a: { b: 5 }, c: 1, d: 1, e: 2 });
    expect(parsed.success).toBe(false);
    expect(validationIssues(parsed.error!.issues, 'body').map((i) => i.field)).toEqual([
      'a.b',
      'c',
      'd',
      'e',
    ]);
    const whole = z.object({}).safeParse('x');
    expect(validationIssues(whole.error!.issues, 'querystring')[0]!.field).toBe('querystring');
  });
});

describe('repeatedParameterIssues', () => {
  it('rewords the issue of a field given as a list, and leaves an unknown one and the others', () => {
    const issues = [
      { field: 'location', reason: 'must be string' },
      { field: 'from', reason: 'must be a calendar date YYYY-MM-DD' },
      { field: 'zz', reason: 'is not an accepted field' },
    ];
    expect(repeatedParameterIssues(issues, { location: ['a', 'b', 'c'], from: 'x', zz: ['1', '2'] })).toEqual(
      [{ field: 'location', reason: 'given 3 times; give it once' }, issues[1], issues[2]],
    );
    expect(repeatedParameterIssues(issues, 'not an object')).toEqual(issues);
  });
});
