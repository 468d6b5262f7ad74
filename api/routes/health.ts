/** Liveness (the process answers) and readiness (its dependencies answer too). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ReadinessService } from '../services/readiness.ts';
import { healthSchema, readySchema } from '../schemas.ts';

export interface HealthRoutesOptions {
  readiness: ReadinessService;
  /** Process start, epoch ms, for the uptime figure. */
  startedAt: number;
  clock: () => number;
}

export async function healthRoutes(fastify: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { readiness, startedAt, clock } = options;
  // Probes are never rate limited: an orchestrator that gets 429 restarts a healthy process.
  app.get(
    '/health',
    {
      config: { rateLimit: false },
      schema: { summary: 'Liveness', tags: ['operations'], response: { 200: healthSchema } },
    },
    async () => ({ status: 'ok' as const, uptimeS: (clock() - startedAt) / 1000 }),
  );
  app.get(
    '/ready',
    {
      config: { rateLimit: false },
      schema: {
        summary: 'Readiness: Redis, ClickHouse, Kafka and the schema registry answer',
        description: '503 names the dependencies that did not answer.',
        tags: ['operations'],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const body = await readiness.check();
      return reply.code(body.status === 'ready' ? 200 : 503).send(body);
    },
  );
}
