import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  collapseNullable,
  jsonSchemaOf,
  observationBodySchema,
  predictQuerySchema,
} from '../../../../api/schemas.ts';
import { openApiDocument, type RouteDoc } from '../../../../api/services/openapi.ts';

describe('jsonSchemaOf', () => {
  it('turns nullable fields into type arrays, keeping their rules', () => {
    const schema = jsonSchemaOf(
      z.object({ h: z.number().min(0).max(100).nullable(), d: z.enum(['N', 'S']).nullable().optional() }),
      'input',
    );
    expect(schema.$schema).toBeUndefined();
    expect(schema.properties).toEqual({
      h: { type: ['number', 'null'], minimum: 0, maximum: 100 },
      d: { type: ['string', 'null'], enum: ['N', 'S', null] },
    });
  });

  it('leaves a union of two real types alone', () => {
    const node = { anyOf: [{ type: 'string' }, { type: 'number' }] };
    expect(collapseNullable(node)).toEqual(node);
  });

  it('states the physical ranges of the observation fields', () => {
    const props = jsonSchemaOf(observationBodySchema, 'input').properties as Record<
      string,
      Record<string, unknown>
    >;
    expect(props.humidity3pm).toMatchObject({ type: ['number', 'null'], minimum: 0, maximum: 100 });
    expect(props.pressure3pm).toMatchObject({ minimum: 850, maximum: 1100 });
    expect(props.windGustDir!.enum).toHaveLength(17);
  });
});

describe('openApiDocument', () => {
  const routes: RouteDoc[] = [
    {
      method: 'GET',
      url: '/predict',
      schema: {
        summary: 'latest',
        tags: ['forecasts'],
        querystring: jsonSchemaOf(predictQuerySchema, 'input'),
        response: { 200: { type: 'object' }, 404: { type: 'object' } },
      },
    },
    { method: 'HEAD', url: '/predict', schema: {} },
    {
      method: 'POST',
      url: '/predict',
      schema: { body: { type: 'object' }, response: { 200: { type: 'object' } } },
    },
    { method: 'GET', url: '/health' },
  ];
  const doc = openApiDocument(routes, { title: 't', version: '1' }) as {
    openapi: string;
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };

  it('documents each method once, HEAD left out', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/health', '/predict']);
    expect(Object.keys(doc.paths['/predict']!).sort()).toEqual(['get', 'post']);
  });

  it('turns the query schema into parameters and the body into a request body', () => {
    const get = doc.paths['/predict']!.get!;
    expect(get.parameters).toEqual([
      {
        name: 'location',
        in: 'query',
        required: true,
        description: expect.stringContaining('station name'),
        schema: expect.objectContaining({ type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' }),
      },
    ]);
    expect(Object.keys(get.responses as object)).toEqual(['200', '404']);
    expect(doc.paths['/predict']!.post!.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { type: 'object' } } },
    });
    expect(doc.paths['/health']!.get!.responses).toEqual({ '200': { description: 'OK' } });
  });
});
