/** The model registry: trained versions and the champion. */
import type { FastifyInstance } from 'fastify';
import type { ModelService } from '../services/models.ts';
import {
  championSchema,
  errorSchema,
  jsonSchemaOf,
  modelsQuerySchema,
  modelsSchema,
  type ModelsQuery,
} from '../schemas.ts';

const DEFAULT_LIMIT = 50;

export async function modelRoutes(app: FastifyInstance, options: { models: ModelService }): Promise<void> {
  const { models } = options;
  app.get<{ Querystring: ModelsQuery }>(
    '/models',
    {
      schema: {
        summary: 'Trained models, newest first (metadata, no artifacts)',
        tags: ['models'],
        querystring: jsonSchemaOf(modelsQuerySchema, 'input'),
        response: { 200: jsonSchemaOf(modelsSchema, 'output'), 400: jsonSchemaOf(errorSchema, 'output') },
      },
    },
    (request) => models.list(request.query.limit === undefined ? DEFAULT_LIMIT : Number(request.query.limit)),
  );
  app.get(
    '/models/champion',
    {
      schema: {
        summary: 'Where the champion alias points, and what this process serves',
        tags: ['models'],
        response: { 200: jsonSchemaOf(championSchema, 'output') },
      },
    },
    () => models.champion(),
  );
}
