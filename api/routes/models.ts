/** The model registry: trained versions, one version, the champion. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ModelService } from '../services/models.ts';
import {
  championQuerySchema,
  championSchema,
  errorSchema,
  modelDetailSchema,
  modelsQuerySchema,
  modelsSchema,
  versionParamsSchema,
} from '../schemas.ts';

const DEFAULT_LIMIT = 50;

export async function modelRoutes(
  fastify: FastifyInstance,
  options: { models: ModelService },
): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { models } = options;
  app.get(
    '/models',
    {
      schema: {
        summary: 'Trained models, newest first (metadata, no artifacts), and the alias history',
        tags: ['models'],
        querystring: modelsQuerySchema,
        response: { 200: modelsSchema, 400: errorSchema },
      },
    },
    (request) => models.list(request.query.limit ?? DEFAULT_LIMIT, request.query.task),
  );
  app.get(
    '/models/champion',
    {
      schema: {
        summary: "Where a task's champion alias points, and what this process serves",
        tags: ['models'],
        querystring: championQuerySchema,
        response: { 200: championSchema, 400: errorSchema },
      },
    },
    (request) => models.champion(request.query.task),
  );
  app.get(
    '/models/:version',
    {
      schema: {
        summary: 'One model version: metadata, aliases on it, alias changes to or from it',
        tags: ['models'],
        params: versionParamsSchema,
        response: { 200: modelDetailSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    (request) => models.detail(request.params.version),
  );
}
