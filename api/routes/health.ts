/** Liveness (the process answers) and readiness (its dependencies answer too). */
import type { FastifyInstance } from 'fastify';
import type { ReadinessService } from '../services/readiness.ts';
import { healthSchema, jsonSchemaOf, readySchema } from '../schemas.ts';

const readyBody = jsonSchemaOf(readySchema, 'output');

export interface HealthRoutesOptions {
  readiness: ReadinessService;
  /** Process start, epoch ms, for the uptime figure. */
  startedAt: number;
  clock: () => number;
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const { readiness, startedAt, clock } = options;
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        response: { 200: jsonSchemaOf(healthSchema, 'output') },
      },
    },
    async () => ({ status: 'ok' as const, uptimeS: (clock() - startedAt) / 1000 }),
  );
  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: Redis and ClickHouse answer',
        description: '503 names the dependencies that did not answer.',
        tags: ['operations'],
        response: { 200: readyBody, 503: readyBody },
      },
    },
    async (_request, reply) => {
      const body = await readiness.check();
      return reply.code(body.status === 'ready' ? 200 : 503).send(body);
    },
  );
}
