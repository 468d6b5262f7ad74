/** The OpenAPI document of this app, generated from the schemas the routes enforce. */
import type { FastifyInstance } from 'fastify';
import { openApiDocument, type OpenApiInfo, type RouteDoc } from '../services/openapi.ts';

export interface OpenApiRoutesOptions {
  /** Filled by the app's onRoute hook; read when the document is first asked for, after every route exists. */
  routes: readonly RouteDoc[];
  info: OpenApiInfo;
}

export async function openApiRoutes(app: FastifyInstance, options: OpenApiRoutesOptions): Promise<void> {
  let document: string | undefined;
  app.get(
    '/openapi.json',
    { schema: { summary: 'This document', tags: ['operations'] } },
    async (_request, reply) => {
      document ??= JSON.stringify(openApiDocument(options.routes, options.info));
      return reply.header('content-type', 'application/json; charset=utf-8').send(document);
    },
  );
}
