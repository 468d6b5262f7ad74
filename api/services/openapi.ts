/**
 * The OpenAPI 3.1 document of the routes as registered: built from the JSON Schemas Fastify validates and
 * serializes with, collected by the app's onRoute hook, so it cannot describe anything the server does not
 * enforce. Pure: routes in, document out.
 */
import type { JsonSchema } from '../schemas.ts';

// Documentation keys on route schemas, as @fastify/swagger reads them; Fastify itself ignores them.
declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
  }
}

export interface RouteSchemaDoc {
  summary?: string;
  description?: string;
  tags?: readonly string[];
  querystring?: JsonSchema;
  body?: JsonSchema;
  response?: Record<string, JsonSchema>;
}

export interface RouteDoc {
  method: string;
  url: string;
  schema?: RouteSchemaDoc;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

const STATUS_TEXT: Readonly<Record<string, string>> = {
  '200': 'OK',
  '400': 'Invalid request: the field at fault and the reason',
  '404': 'Not found',
  '500': 'Internal error (details are logged, not returned)',
  '503': 'A dependency is unavailable',
};

function parametersOf(querystring: JsonSchema | undefined): object[] {
  const properties = (querystring?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((querystring?.required ?? []) as string[]);
  return Object.entries(properties).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

export function openApiDocument(routes: readonly RouteDoc[], info: OpenApiInfo): object {
  const paths: Record<string, Record<string, object>> = {};
  const sorted = [...routes].sort((a, b) =>
    a.url === b.url ? a.method.localeCompare(b.method) : a.url < b.url ? -1 : 1,
  );
  for (const route of sorted) {
    const method = route.method.toLowerCase();
    // Fastify adds a HEAD route for every GET; documenting both would only repeat the GET.
    if (method === 'head' || method === 'options') continue;
    const schema = route.schema ?? {};
    const operation: Record<string, unknown> = {};
    if (schema.summary !== undefined) operation.summary = schema.summary;
    if (schema.description !== undefined) operation.description = schema.description;
    if (schema.tags !== undefined) operation.tags = [...schema.tags];
    const parameters = parametersOf(schema.querystring);
    if (parameters.length > 0) operation.parameters = parameters;
    if (schema.body !== undefined) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: schema.body } } };
    }
    const responses: Record<string, object> = {};
    for (const [status, body] of Object.entries(schema.response ?? {})) {
      responses[status] = {
        description: STATUS_TEXT[status] ?? `HTTP ${status}`,
        content: { 'application/json': { schema: body } },
      };
    }
    operation.responses = Object.keys(responses).length > 0 ? responses : { '200': { description: 'OK' } };
    (paths[route.url] ??= {})[method] = operation;
  }
  return { openapi: '3.1.0', info, paths };
}
