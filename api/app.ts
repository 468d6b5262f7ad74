/**
 * The whole HTTP API as a Fastify plugin over the dependencies it is given (Redis, ClickHouse, the
 * champion source, optionally Kafka); `server.ts` is only the process shell around it, and tests build it
 * with `buildApp` and call `app.inject`. Routes are thin and call services; their zod schemas validate
 * requests, serialize responses and make the OpenAPI document (/openapi.json, Swagger UI at /docs).
 *
 * Switched on for every route: security headers and a CSP the dashboard runs under (helmet's, computed once),
 * rate limits per client (@fastify/rate-limit; tighter on /admin), load shedding when the event loop or
 * heap is saturated (@fastify/under-pressure), and a request histogram for /metrics.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { createSerializerCompiler, jsonSchemaTransform } from 'fastify-type-provider-zod';
import pkg from '../package.json' with { type: 'json' };
import type { EventCodec } from '../lib/domain/events.ts';
import { stageGroups } from '../lib/deployment/consumer-groups.ts';
import type { ChampionSource } from '../lib/models/champion.ts';
import { loadStationRegistry, type StationRegistry } from '../lib/domain/stations.ts';
import { loadConfig, type EventTimeConfig } from '../lib/platform/config.ts';
import type { ClickHouse } from '../lib/platform/clickhouse/client.ts';
import { topicNames, type Config, type Topics } from '../lib/platform/config.ts';
import { isRainstreamError, type RainstreamError } from '../lib/platform/errors.ts';
import type { Admin, Kafka, Producer } from '../lib/platform/kafka/client.ts';
import type { Logger } from '../lib/platform/log.ts';
import { createMetrics, type Metrics } from '../lib/platform/metrics.ts';
import type { RedisHandle } from '../lib/platform/redis.ts';
import { parseAllowList } from '../consumers/alerts/allow-list.ts';
import { REDACTED_PATHS } from './admin-auth.ts';
import { apiSecurityHeaders, securityHeaders, servesDocuments } from './security-headers.ts';
import { ApiError } from './errors.ts';
import { adminRoutes } from './routes/admin.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { healthRoutes } from './routes/health.ts';
import { locationRoutes } from './routes/locations.ts';
import { modelRoutes } from './routes/models.ts';
import { operationsRoutes } from './routes/operations.ts';
import { predictRoutes } from './routes/predict.ts';
import type { ErrorBody } from './schemas.ts';
import { createAdminService } from './services/admin.ts';
import { createAnalyticsService } from './services/analytics.ts';
import { startDlqTally, type DlqTally } from './services/dlq-tally.ts';
import { createForecastService } from './services/forecasts.ts';
import { createModelService } from './services/models.ts';
import { createPipelineService } from './services/pipeline.ts';
import { createPredictService } from './services/predict.ts';
import { registerApiMetrics } from './services/prometheus.ts';
import { createTrackedCache } from './services/tracked-cache.ts';
import { createResultCache } from './services/result-cache.ts';
import { createReadinessService, schemaRegistryProbe } from './services/readiness.ts';
import { RequestValidationError, zodValidatorCompiler } from './validation.ts';

/** The Kafka side of the API: admin routes write through it, readiness and the pipeline view read it. */
export interface ApiKafka {
  kafka: Kafka;
  /** Connected; the app disconnects it on close. */
  producer: Producer;
  codec: EventCodec;
  registryUrl: string;
}

export interface ApiSettings {
  adminToken: string | undefined;
  rateLimitPerMinute: number;
  adminRateLimitPerMinute: number;
  /** Webhook hosts a subscription may name (consumers/alerts/allow-list.ts). */
  allowedHosts: string[];
  topics: Topics;
  groupPrefix: string;
}

/** Everything the API needs. The app owns them from here on: closing the app closes each of them. */
export interface ApiDeps {
  redis: RedisHandle;
  clickhouse: ClickHouse;
  champions: ChampionSource;
  /** The champion source of each other task POST /predict serves (max_temp, ...); closed with the app. */
  taskChampions?: ReadonlyMap<string, ChampionSource>;
  /** Probability at or above which the decision is "rain" (the predictor's threshold). */
  decisionThreshold: number;
  /** Absent: readiness reports Kafka and the registry down, and the admin and pipeline routes answer 503. */
  kafka?: ApiKafka;
  settings?: Partial<ApiSettings>;
  /** The process' metrics registry (default: a new one, with the process' own metrics). */
  metrics?: Metrics;
  clock?: () => number;
  /** What an observation must satisfy (lib/domain/weather/validation.ts); default: the shipped config's. */
  eventTime?: EventTimeConfig;
  /** The stations served; default: the weatherAUS ones and data/live-stations.json. */
  stations?: StationRegistry;
}

export const DEFAULT_SETTINGS: ApiSettings = {
  adminToken: undefined,
  rateLimitPerMinute: 6000,
  adminRateLimitPerMinute: 60,
  allowedHosts: [],
  topics: topicNames('rainstream'),
  groupPrefix: 'rainstream',
};

export function apiSettingsOf(config: Config): ApiSettings {
  return {
    adminToken: config.api.adminToken,
    rateLimitPerMinute: config.api.rateLimitPerMinute,
    adminRateLimitPerMinute: config.api.adminRateLimitPerMinute,
    allowedHosts: config.alerts.allowedHosts,
    topics: config.topics,
    groupPrefix: config.groupPrefix,
  };
}

export const API_INFO = {
  title: 'rainstream API',
  version: pkg.version,
  description:
    'Latest rain forecasts per station, on-demand forecasts, history, quality, drift, the model registry, ' +
    'pipeline health; admin routes (bearer token) for promotions, retraining and alert subscriptions.',
};

/**
 * Server options shared by the real server and the benchmark's bare route, so both run alike.
 * - No request log lines: one per request is a log storm at serving rates; failures are logged.
 * - The Authorization header is censored in every log line that could carry it.
 */
export function apiServerOptions(logger?: Logger): FastifyServerOptions {
  return {
    ...(logger === undefined
      ? {}
      : { loggerInstance: logger.child({}, { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }) }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout: 30_000,
    return503OnClosing: true,
    // A URL the router cannot decode is refused before any route or hook: answered here in the API's
    // shape and with its headers, instead of Fastify's own body (its error code, the path echoed back).
    frameworkErrors: (error, request, reply) => {
      reply.headers(FRAMEWORK_ERROR_HEADERS);
      return apiErrorHandler(error, request, reply);
    },
    clientErrorHandler,
  };
}

/**
 * A request Node's HTTP parser refuses (a raw space or control character in the URL, a malformed header or
 * chunk, headers past 16 kB, a request not received in time): no route, hook or reply exists for it, so it
 * is answered on the socket, in the API's shape, and the connection closed.
 */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, field, reason] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request', 'was not received in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers', 'must be at most 16 kB in all']
        : [
            400,
            'request',
            'must be well-formed HTTP/1.1: no raw spaces or control characters in the URL or headers',
          ];
  const body = JSON.stringify({ error: 'invalid request', field, reason });
  const headers = Object.entries(FRAMEWORK_ERROR_HEADERS)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

const BODY_LIMIT = 16 * 1024;
const MAX_PARAM_LENGTH = 100;
const FRAMEWORK_ERROR_HEADERS = apiSecurityHeaders();

const STATIC_REFUSAL = { field: 'url', reason: 'must name a file of the dashboard' };

/**
 * Fastify's own refusals (body parsing, URL decoding), worded as the API's: the part of the request at
 * fault and why. Their messages name no field, and two of them echo the client's path.
 */
const FRAMEWORK_REFUSALS: Readonly<Record<string, { field: string; reason: string }>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { field: 'content-type', reason: 'must be application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    field: 'body',
    reason: 'must not be empty when content-type is application/json',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    field: 'body',
    reason: 'must be one JSON value, without __proto__ or constructor.prototype keys',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { field: 'body', reason: `must be at most ${BODY_LIMIT} bytes` },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { field: 'content-length', reason: 'must be the size of the body' },
  FST_ERR_BAD_URL: { field: 'url', reason: 'must be percent-encoded UTF-8' },
  FST_STATIC_FORBIDDEN_PATH: { field: 'url', reason: 'must name a file of the dashboard' },
  FST_ERR_MAX_PARAM_LENGTH: {
    field: 'url',
    reason: `must not hold a path parameter longer than ${MAX_PARAM_LENGTH} characters`,
  },
};

function statusOf(error: FastifyError | ApiError | RainstreamError): number {
  const status = 'statusCode' in error ? error.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 600) return status;
  // Redis or ClickHouse away (a retriable platform error): the service is unavailable, not broken.
  return isRainstreamError(error) && error.retriable ? 503 : 500;
}

/**
 * The one error handler: validation errors become 400 with the field at fault and the reason; other 4xx
 * keep their message; 5xx are logged in full and answered with the status text only, since their message
 * may name hosts, SQL or internals.
 */
export function apiErrorHandler(
  error: FastifyError | ApiError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof RequestValidationError) {
    const body: ErrorBody = {
      error: 'invalid request',
      ...error.issues[0],
      issues: error.issues,
      ...(error.issuesLeftOut > 0 && { issuesLeftOut: error.issuesLeftOut }),
    };
    return reply.code(400).send(body);
  }
  const status = statusOf(error);
  const refusal =
    status >= 500
      ? undefined
      : (FRAMEWORK_REFUSALS[error.code] ??
        // The only 403 not the API's own: the dashboard's files refusing a path (a directory, '..', a NUL).
        (status === 403 && !(error instanceof ApiError) ? STATIC_REFUSAL : undefined));
  if (refusal !== undefined) {
    const body: ErrorBody = { error: 'invalid request', ...refusal };
    return reply.code(status).send(body);
  }
  if (error.code === 'FST_UNDER_PRESSURE') {
    // Shedding load is the plan working, not a failure: counted by the request histogram, not logged.
    return reply.code(503).send({ error: 'service unavailable', reason: 'overloaded; retry later' });
  }
  if (status >= 500) {
    request.log.error(
      { err: error, method: request.method, route: request.routeOptions.url },
      'request failed',
    );
    return reply
      .code(status)
      .send({ error: status === 503 ? 'service unavailable' : 'internal server error' });
  }
  if (status === 429) return reply.code(429).send({ error: 'too many requests', reason: error.message });
  const field = error instanceof ApiError ? error.field : undefined;
  const body: ErrorBody =
    field === undefined
      ? { error: error.message }
      : {
          error: status === 404 ? 'not found' : status === 409 ? 'conflict' : 'invalid request',
          field,
          reason: error.message,
        };
  return reply.code(status).send(body);
}

/** The methods each route pattern takes, to tell a path of no route (404) from a method it refuses (405). */
function createRouteMethods() {
  const routes: { pattern: RegExp; methods: readonly string[] }[] = [];
  return {
    add(url: string, method: string | readonly string[]) {
      const source = url
        .split(/(:[A-Za-z0-9_]+|\*)/)
        .map((part) =>
          part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      routes.push({ pattern: new RegExp(`^${source}$`), methods: [method].flat() });
    },
    of(path: string): string[] {
      const methods = new Set<string>();
      for (const route of routes) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
      return [...methods].sort();
    },
  };
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/**
 * A body the parsers would read as something it is not: compressed (they read the bytes as they are, so a
 * gzip body was answered "not JSON" and a plain body labelled gzip was accepted), or text in a charset
 * other than UTF-8 (read as UTF-8 all the same). Refused with 415 naming the header, before any byte of it
 * is read.
 */
async function refuseMisreadBodies(request: FastifyRequest): Promise<void> {
  const { headers } = request;
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return;
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    throw new ApiError(415, 'UNSUPPORTED_ENCODING', 'must be identity: compressed bodies are not read', {
      field: 'content-encoding',
    });
  }
  const charset = CHARSET.exec(headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError(
      415,
      'UNSUPPORTED_CHARSET',
      'must have charset utf-8 or none: bodies are read as UTF-8',
      {
        field: 'content-type',
      },
    );
  }
}

export async function rainstreamApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const clock = deps.clock ?? Date.now;
  const settings: ApiSettings = { ...DEFAULT_SETTINGS, ...deps.settings };
  const metrics = deps.metrics ?? createMetrics({ processMetrics: true });
  const log = app.log as Logger;

  let admin: Promise<Admin> | null = null;
  const kafkaAdmin = (): Promise<Admin> => {
    if (!deps.kafka) return Promise.reject(new ApiError(503, 'NO_KAFKA', 'this API runs without Kafka'));
    admin ??= (async () => {
      const a = deps.kafka!.kafka.admin();
      await a.connect();
      return a;
    })().catch((error: unknown) => {
      admin = null;
      throw error;
    });
    return admin;
  };
  let dlq: DlqTally | null = null;
  if (deps.kafka) {
    // The DLQ counts are a panel of the dashboard, not a reason to refuse to serve forecasts.
    dlq = await startDlqTally({
      kafka: deps.kafka.kafka,
      topic: settings.topics.observationsDlq,
      groupPrefix: settings.groupPrefix,
      logger: log,
    }).catch((error: unknown) => {
      log.warn({ err: error }, 'DLQ counts unavailable: the DLQ topic cannot be read');
      return null;
    });
  }

  // The hot reads (latest forecasts, station windows) from memory, invalidated by Redis.
  const cache = createTrackedCache(deps.redis, { logger: log });
  app.addHook('onClose', async () => {
    // The champion source may read ClickHouse while it stops: close it before the clients.
    await deps.champions.close();
    await Promise.allSettled([...(deps.taskChampions?.values() ?? [])].map((c) => c.close()));
    await Promise.allSettled([
      cache.close(),
      dlq?.close(),
      admin?.then((a) => a.disconnect()),
      deps.kafka?.producer.disconnect(),
    ]);
    await Promise.all([deps.redis.close(), deps.clickhouse.close()]);
  });

  app.addHook('preParsing', refuseMisreadBodies);
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(createSerializerCompiler());
  app.setErrorHandler(apiErrorHandler);

  const pipeline = deps.kafka
    ? createPipelineService({
        admin: kafkaAdmin,
        groups: stageGroups(settings),
        topics: [
          settings.topics.observations,
          settings.topics.features,
          settings.topics.predictions,
          settings.topics.labeled,
          settings.topics.observationsDlq,
        ],
        dlq,
        clock,
      })
    : null;
  const http = registerApiMetrics(metrics.registry, {
    champions: deps.champions,
    clickhouse: deps.clickhouse,
    pipeline,
    clock,
    logger: log,
  });
  const routeMethods = createRouteMethods();
  // Per route, decided once when the route is added: its security headers (helmet's full set for the
  // documents a browser renders, the lean API set for JSON) and its request histogram, closed over its
  // pattern (no per-request lookup of the route options, an object Fastify builds on each access, and
  // no label hashing: children cached per status).
  const documentHeaders = securityHeaders();
  const apiHeaders = apiSecurityHeaders(documentHeaders);
  app.addHook('onRoute', (route) => {
    const headers = servesDocuments(route.url) ? documentHeaders : apiHeaders;
    const setHeaders = (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      reply.headers(headers);
      done();
    };
    const observe = http.route(route.url);
    const measure = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      observe(request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    route.onRequest = route.onRequest === undefined ? [setHeaders] : [setHeaders, route.onRequest].flat();
    route.onResponse = route.onResponse === undefined ? [measure] : [route.onResponse, measure].flat();
    routeMethods.add(route.url, route.method);
  });
  const unmatched = http.route('unmatched');
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // A path some route serves, asked with another method: 405 naming the methods it takes.
    const allowed = routeMethods.of(path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      unmatched(request.method, 405, reply.elapsedTime / 1000);
      return reply
        .headers(apiHeaders)
        .header('allow', allowed.join(', '))
        .code(405)
        .send({
          error: 'method not allowed',
          field: 'method',
          reason: `must be ${allowed.join(', ')} for ${path}, not ${request.method}`,
        });
    }
    unmatched(request.method, 404, reply.elapsedTime / 1000);
    return reply
      .headers(apiHeaders)
      .code(404)
      .send({
        error: `no route ${request.method} ${path}`,
        field: 'url',
        reason: 'names no route of this API',
      });
  });
  await app.register(rateLimit, {
    max: settings.rateLimitPerMinute,
    timeWindow: 60_000,
    // The x-ratelimit-* headers go on the 429 only: on every other answer they are bytes nobody reads.
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        context.statusCode,
        'RATE_LIMITED',
        `more than ${context.max} requests per minute from this client; retry after ${context.after}`,
      ),
  });
  // Sheds load (503 + Retry-After) when the event loop lags by a second: the process is then too far
  // behind for any answer to be useful. Not on utilization: a busy server at full throughput is at ~1.
  await app.register(underPressure, {
    maxEventLoopDelay: 1000,
    retryAfter: 10,
    exposeStatusRoute: false,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: API_INFO,
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  // Swagger UI sets inline style attributes, which its own hashed CSP refuses: on /docs only, styles may be
  // inline (scripts stay hashed).
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/style-src [^;]*/, "style-src 'self' 'unsafe-inline'"),
  });

  const defaults = deps.eventTime && deps.stations ? undefined : loadConfig({});
  const stations = deps.stations ?? loadStationRegistry(defaults!.openMeteo.stationsFile);
  const forecasts = createForecastService(deps.redis, stations, cache);
  const predictions = createPredictService({
    redis: deps.redis,
    champions: deps.champions,
    ...(deps.taskChampions && { taskChampions: deps.taskChampions }),
    decisionThreshold: deps.decisionThreshold,
    clock,
    eventTime: deps.eventTime ?? defaults!.eventTime,
    stations,
    cache,
  });
  await app.register(healthRoutes, {
    readiness: createReadinessService({
      redis: deps.redis,
      clickhouse: deps.clickhouse,
      kafka: deps.kafka
        ? async () => {
            const cluster = await (await kafkaAdmin()).describeCluster();
            return cluster.brokers.length > 0;
          }
        : undefined,
      schemaRegistry: deps.kafka ? schemaRegistryProbe(deps.kafka.registryUrl, 1000) : undefined,
    }),
    startedAt: clock(),
    clock,
  });
  await app.register(predictRoutes, { forecasts, predictions });
  await app.register(locationRoutes, { forecasts });
  const results = createResultCache(deps.clickhouse);
  const analytics = createAnalyticsService(deps.clickhouse, deps.decisionThreshold, results);
  await app.register(analyticsRoutes, { analytics, stations });
  await app.register(modelRoutes, { models: createModelService(deps.clickhouse, deps.champions, results) });
  await app.register(operationsRoutes, { pipeline, registry: metrics.registry });
  await app.register(adminRoutes, {
    admin: deps.kafka
      ? createAdminService({
          clickhouse: deps.clickhouse,
          producer: deps.kafka.producer,
          codec: deps.kafka.codec,
          topics: settings.topics,
          allowList: parseAllowList(settings.allowedHosts),
          stations,
          clock,
        })
      : null,
    token: settings.adminToken,
    rateLimitPerMinute: settings.adminRateLimitPerMinute,
  });
  await app.register(dashboardRoutes, { forecasts });
  // What the dashboard's first view asks for, computed while the server starts (its slowest answers: the
  // quality reports join every prediction with its actual; the pipeline view waits on Kafka's admin).
  // Failures are the routes' to report, when asked.
  app.addHook('onReady', async () => {
    const warm = [
      analytics.quality({ task: 'rain', groupBy: 'location', threshold: deps.decisionThreshold }),
      analytics.quality({ task: 'rain', groupBy: 'season', threshold: deps.decisionThreshold }),
      analytics.drift({ task: 'rain' }),
      pipeline?.health(),
    ];
    for (const w of warm) w?.catch(() => undefined);
  });
  app.get(
    '/openapi.json',
    { schema: { summary: 'The OpenAPI document of this API', tags: ['operations'] } },
    async () => app.swagger(),
  );
}

/** A Fastify instance serving the API; `await app.ready()` (or listen/inject) to start it. */
export function buildApp(deps: ApiDeps, options: { logger?: Logger } = {}): FastifyInstance {
  const app = Fastify(apiServerOptions(options.logger)) as unknown as FastifyInstance;
  app.register(rainstreamApi, deps);
  return app;
}
