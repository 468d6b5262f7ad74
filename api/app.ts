/**
 * The whole HTTP API as a Fastify plugin over the dependencies it is given (Redis, ClickHouse, the
 * champion source); `server.ts` is only the process shell around it, and tests build it with `buildApp`
 * and call `app.inject`. Routes are thin and call services; schemas are shared with `/openapi.json`.
 */
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import pkg from '../package.json' with { type: 'json' };
import type { ChampionSource } from '../lib/models/champion.ts';
import { loadStationRegistry, type StationRegistry } from '../lib/domain/stations.ts';
import { loadConfig, type EventTimeConfig } from '../lib/platform/config.ts';
import type { ClickHouse } from '../lib/platform/clickhouse/client.ts';
import type { Logger } from '../lib/platform/log.ts';
import type { RedisHandle } from '../lib/platform/redis.ts';
import { isRainstreamError, type RainstreamError } from '../lib/platform/errors.ts';
import { ApiError } from './errors.ts';
import { healthRoutes } from './routes/health.ts';
import { locationRoutes } from './routes/locations.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { modelRoutes } from './routes/models.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { predictRoutes } from './routes/predict.ts';
import type { ErrorBody } from './schemas.ts';
import { createForecastService } from './services/forecasts.ts';
import { createMetricsService } from './services/metrics.ts';
import { createModelService } from './services/models.ts';
import type { RouteDoc } from './services/openapi.ts';
import { createPredictService } from './services/predict.ts';
import { createReadinessService } from './services/readiness.ts';
import { validationIssues } from './validation.ts';

/** Everything the API needs. The app owns them from here on: closing the app closes each of them. */
export interface ApiDeps {
  redis: RedisHandle;
  clickhouse: ClickHouse;
  champions: ChampionSource;
  /** Probability at or above which the decision is "rain" (the predictor's threshold). */
  decisionThreshold: number;
  clock?: () => number;
  /** What an observation must satisfy (lib/domain/weather/validation.ts); default: the shipped config's. */
  eventTime?: EventTimeConfig;
  /** The stations served; default: the weatherAUS ones and data/live-stations.json. */
  stations?: StationRegistry;
}

export const API_INFO = {
  title: 'rainstream API',
  version: pkg.version,
  description:
    'Latest rain forecasts per station, on-demand forecasts, the model registry and prequential scores.',
};

/**
 * Server options shared by the real server and the benchmark's bare route, so both run alike.
 * - No request log lines: one per request is a log storm at serving rates; failures are logged.
 * - ajv without type coercion or silent removal: a body's "55" is not taken for 55, an unknown field is
 *   refused; allErrors reports every bad field at once (bodies are capped at 16 KB, which bounds its cost);
 *   verbose gives the error formatter the schema's description.
 */
export function apiServerOptions(logger?: Logger): FastifyServerOptions {
  return {
    ...(logger === undefined ? {} : { loggerInstance: logger }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    requestTimeout: 30_000,
    return503OnClosing: true,
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: true,
        allErrors: true,
        verbose: true,
      },
    },
  };
}

/**
 * The one error handler: validation errors become 400 with the field at fault and the reason; other 4xx
 * keep their message; 5xx are logged in full and answered with the status text only, since their message
 * may name hosts, SQL or internals.
 */
function statusOf(error: FastifyError | ApiError | RainstreamError): number {
  const status = 'statusCode' in error ? error.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 600) return status;
  // Redis or ClickHouse away (a retriable platform error): the service is unavailable, not broken.
  return isRainstreamError(error) && error.retriable ? 503 : 500;
}

export function apiErrorHandler(
  error: FastifyError | ApiError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if ('validation' in error && error.validation) {
    const issues = validationIssues(error.validation, error.validationContext ?? 'request');
    const body: ErrorBody = { error: 'invalid request', ...issues[0], issues };
    return reply.code(400).send(body);
  }
  const status = statusOf(error);
  if (status >= 500) {
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply
      .code(status)
      .send({ error: status === 503 ? 'service unavailable' : 'internal server error' });
  }
  const field = error instanceof ApiError ? error.field : undefined;
  const body: ErrorBody =
    field === undefined
      ? { error: error.message }
      : { error: 'invalid request', field, reason: error.message };
  return reply.code(status).send(body);
}

export async function rainstreamApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const clock = deps.clock ?? Date.now;
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routes.push({ method, url: route.url, schema: route.schema as RouteDoc['schema'] });
  });
  app.addHook('onClose', async () => {
    // The champion source may read ClickHouse while it stops: close it before the clients.
    await deps.champions.close();
    await Promise.all([deps.redis.close(), deps.clickhouse.close()]);
  });

  app.setErrorHandler(apiErrorHandler);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  const defaults = deps.eventTime && deps.stations ? undefined : loadConfig({});
  const stations = deps.stations ?? loadStationRegistry(defaults!.openMeteo.stationsFile);
  const forecasts = createForecastService(deps.redis, stations);
  const predictions = createPredictService({
    redis: deps.redis,
    champions: deps.champions,
    decisionThreshold: deps.decisionThreshold,
    clock,
    eventTime: deps.eventTime ?? defaults!.eventTime,
    stations,
  });
  await app.register(healthRoutes, {
    readiness: createReadinessService(deps.redis, deps.clickhouse),
    startedAt: clock(),
    clock,
  });
  await app.register(predictRoutes, { forecasts, predictions });
  await app.register(locationRoutes, { forecasts });
  await app.register(modelRoutes, { models: createModelService(deps.clickhouse, deps.champions) });
  await app.register(metricsRoutes, { metrics: createMetricsService(deps.clickhouse) });
  await app.register(openApiRoutes, { routes, info: API_INFO });
}

/** A Fastify instance serving the API; `await app.ready()` (or listen/inject) to start it. */
export function buildApp(deps: ApiDeps, options: { logger?: Logger } = {}): FastifyInstance {
  const app = Fastify(apiServerOptions(options.logger)) as unknown as FastifyInstance;
  app.register(rainstreamApi, deps);
  return app;
}
