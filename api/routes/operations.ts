/** For operators: the pipeline's health and the Prometheus metrics of this process. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { ApiError } from '../errors.ts';
import type { PipelineService } from '../services/pipeline.ts';
import { errorSchema, pipelineSchema } from '../schemas.ts';

export async function operationsRoutes(
  fastify: FastifyInstance,
  options: { pipeline: PipelineService | null; registry: Registry },
): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get(
    '/pipeline',
    {
      schema: {
        summary:
          'Pipeline health: consumer lag per stage, records per second per topic, DLQ counts by reason',
        tags: ['operations'],
        response: { 200: pipelineSchema, 503: errorSchema },
      },
    },
    () => {
      if (options.pipeline === null) throw new ApiError(503, 'NO_KAFKA', 'this API runs without Kafka');
      return options.pipeline.health();
    },
  );
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics of this process (text exposition format)',
        tags: ['operations'],
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      const text = await options.registry.metrics();
      return reply.type(options.registry.contentType).send(text);
    },
  );
}
