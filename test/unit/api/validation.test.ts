import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorHandler, apiServerOptions } from '../../../api/app.ts';
import {
  jsonSchemaOf,
  observationBodySchema,
  predictQuerySchema,
  prequentialQuerySchema,
  type ErrorBody,
} from '../../../api/schemas.ts';
import { validationIssues } from '../../../api/validation.ts';

/** A server with the API's ajv options, schemas and error handler, echoing what passed validation. */
let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify(apiServerOptions());
  app.setErrorHandler(apiErrorHandler);
  app.post('/obs', { schema: { body: jsonSchemaOf(observationBodySchema, 'input') } }, (r) => r.body);
  app.get('/q', { schema: { querystring: jsonSchemaOf(predictQuerySchema, 'input') } }, (r) => r.query);
  app.get(
    '/scores',
    { schema: { querystring: jsonSchemaOf(prequentialQuerySchema, 'input') } },
    (r) => r.query,
  );
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
});

describe('query strings', () => {
  it('needs a well-formed location', async () => {
    const missing = await app.inject({ url: '/q' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ field: 'location', reason: 'is required' });
    const twice = await app.inject({ url: '/q?location=Sydney&location=Perth' });
    expect(twice.json()).toMatchObject({ field: 'location', reason: 'must be string' });
    expect((await app.inject({ url: '/q?location=Sydney' })).json()).toEqual({ location: 'Sydney' });
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

describe('validationIssues', () => {
  it('drops anyOf summaries and prefers a format error over its pattern twin', () => {
    const issues = validationIssues(
      [
        { keyword: 'pattern', instancePath: '/date', params: { pattern: '^x$' } },
        { keyword: 'format', instancePath: '/date', params: { format: 'date' } },
        { keyword: 'maximum', instancePath: '/a~1b', params: {}, message: 'must be <= 3' },
        { keyword: 'anyOf', instancePath: '/a~1b', params: {}, message: 'must match a schema in anyOf' },
      ],
      'body',
    );
    expect(issues).toEqual([
      { field: 'date', reason: 'must be a date' },
      { field: 'a/b', reason: 'must be <= 3' },
    ]);
  });
});
