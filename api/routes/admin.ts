/**
 * Admin routes, behind a bearer token (api/admin-auth.ts), each rate limited harder than the public ones:
 * promote a version, roll the champion back, ask for a retraining, manage alert subscriptions and read
 * their delivery log.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { adminGuard } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';
import type { AdminService } from '../services/admin.ts';
import {
  aliasChangeSchema,
  bearerSecurity,
  commandSchema,
  createdSubscriptionSchema,
  deliveriesQuerySchema,
  deliveriesSchema,
  errorSchema,
  promoteBodySchema,
  retrainBodySchema,
  rollbackBodySchema,
  subscriptionBodySchema,
  subscriptionHeadersSchema,
  subscriptionParamsSchema,
  subscriptionsSchema,
  versionParamsSchema,
} from '../schemas.ts';

export interface AdminRoutesOptions {
  admin: AdminService | null;
  token: string | undefined;
  rateLimitPerMinute: number;
}

const refused = { 401: errorSchema, 403: errorSchema, 429: errorSchema, 503: errorSchema };

export async function adminRoutes(fastify: FastifyInstance, options: AdminRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // The token is checked when the request arrives, before its body is read or validated (a client without
  // it learns nothing of the routes' schemas), and after the rate limiter (the parent's onRoute hooks run
  // first), so refused guesses count against the limit.
  const guard = adminGuard(options.token);
  app.addHook('onRoute', (route) => {
    route.onRequest = [...[route.onRequest ?? []].flat(), guard];
  });
  const config = { rateLimit: { max: options.rateLimitPerMinute, timeWindow: 60_000 } };
  const admin = (): AdminService => {
    if (options.admin === null)
      throw new ApiError(503, 'NO_KAFKA', 'the admin API needs Kafka, which this API runs without');
    return options.admin;
  };
  const tags = ['admin'];

  app.post(
    '/admin/models/:version/promote',
    {
      config,
      schema: {
        summary: "Point a task's alias (rain's champion by default) at a registered version of that task",
        tags,
        security: bearerSecurity,
        params: versionParamsSchema,
        body: promoteBodySchema,
        response: { 200: aliasChangeSchema, 400: errorSchema, 404: errorSchema, ...refused },
      },
    },
    (request) =>
      admin().promote(request.params.version, request.body.alias, request.body.reason, request.body.task),
  );
  app.post(
    '/admin/models/rollback',
    {
      config,
      schema: {
        summary: "Make a task's (rain's by default) champion's previous version its champion again",
        tags,
        security: bearerSecurity,
        body: rollbackBodySchema,
        response: { 200: aliasChangeSchema, 400: errorSchema, 409: errorSchema, ...refused },
      },
    },
    (request) => admin().rollback(request.body.reason, request.body.task),
  );
  app.post(
    '/admin/retrain',
    {
      config,
      schema: {
        summary: 'Ask the trainer to train a task (rain by default) now (a command on the commands topic)',
        tags,
        security: bearerSecurity,
        body: retrainBodySchema,
        response: { 202: commandSchema, 400: errorSchema, ...refused },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await admin().retrain(request.body.reason, request.body.requestedBy, request.body.task)),
  );
  app.get(
    '/admin/subscriptions',
    {
      config,
      schema: {
        summary: 'Alert subscriptions (secrets are never shown)',
        tags,
        security: bearerSecurity,
        response: { 200: subscriptionsSchema, ...refused },
      },
    },
    async () => ({ subscriptions: await admin().subscriptions() }),
  );
  app.post(
    '/admin/subscriptions',
    {
      config,
      schema: {
        summary: 'Subscribe a webhook to forecasts crossing a threshold, champion changes or drift alerts',
        description:
          'Deliveries are POSTs with `x-rainstream-signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` ' +
          'and an `idempotency-key` header, retried with backoff; the URL host must be on WEBHOOK_ALLOWED_HOSTS.',
        tags,
        security: bearerSecurity,
        headers: subscriptionHeadersSchema,
        body: subscriptionBodySchema,
        response: { 201: createdSubscriptionSchema, 400: errorSchema, ...refused },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await admin().subscribe(request.body, request.headers['x-requested-by'] ?? 'admin-api')),
  );
  app.delete(
    '/admin/subscriptions/:id',
    {
      config,
      schema: {
        summary: 'Delete a subscription (a tombstone on its compacted topic)',
        tags,
        security: bearerSecurity,
        params: subscriptionParamsSchema,
        response: { 204: z.null().describe('deleted'), 400: errorSchema, 404: errorSchema, ...refused },
      },
    },
    async (request, reply) => {
      await admin().unsubscribe(request.params.id);
      return reply.code(204).send(null);
    },
  );
  app.get(
    '/admin/deliveries',
    {
      config,
      schema: {
        summary: 'Webhook delivery attempts, newest first',
        tags,
        security: bearerSecurity,
        querystring: deliveriesQuerySchema,
        response: { 200: deliveriesSchema, 400: errorSchema, ...refused },
      },
    },
    async (request) => ({
      deliveries: await admin().deliveries(request.query.subscription, request.query.limit ?? 100),
    }),
  );
}
