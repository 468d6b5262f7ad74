/** Prequential scores: every prediction scored once its outcome is known. */
import type { FastifyInstance } from 'fastify';
import type { MetricsService } from '../services/metrics.ts';
import {
  errorSchema,
  jsonSchemaOf,
  prequentialQuerySchema,
  prequentialSchema,
  type PrequentialQuery,
} from '../schemas.ts';

export async function metricsRoutes(
  app: FastifyInstance,
  options: { metrics: MetricsService },
): Promise<void> {
  app.get<{ Querystring: PrequentialQuery }>(
    '/metrics/prequential',
    {
      schema: {
        summary: 'Prequential scores by overall, location, year, season, week or model',
        tags: ['metrics'],
        querystring: jsonSchemaOf(prequentialQuerySchema, 'input'),
        response: {
          200: jsonSchemaOf(prequentialSchema, 'output'),
          400: jsonSchemaOf(errorSchema, 'output'),
        },
      },
    },
    (request) => options.metrics.prequential(request.query),
  );
}
