/**
 * The API process: configuration, logger, clients and champion source, then the app, then a graceful close
 * on SIGINT/SIGTERM (stop accepting, let requests in flight finish, close the clients). `npm run api`.
 */
import { z } from 'zod';
import type { ChampionSource } from '../lib/models/champion.ts';
import { runCommand } from '../lib/platform/cli/command.ts';
import { startChampionWatcher } from '../lib/models/champion-watcher.ts';
import { tasksOf, type TaskDeclaration } from '../lib/models/tasks.ts';
import type { ClickHouse } from '../lib/platform/clickhouse/client.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { loadConfig, type Config } from '../lib/platform/config.ts';
import { createLogger, type Logger } from '../lib/platform/log.ts';
import { createRedis } from '../lib/platform/redis.ts';
import { apiSettingsOf, buildApp } from './app.ts';
import { createMetrics } from '../lib/platform/metrics.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import type { Kafka } from '../lib/platform/kafka/client.ts';
import type { EventCodec } from '../lib/domain/events.ts';
import { registerEvents } from '../lib/domain/events.ts';
import { loadStationRegistry } from '../lib/domain/stations.ts';

/** Past this, a close that is still waiting on a hung connection gives up and the process exits anyway. */
const CLOSE_DEADLINE_MS = 10_000;

/** A task's (default rain's) champion of the moment: loaded from the registry, switched on each promotion event. */
async function championSource(
  kafka: Kafka,
  codec: EventCodec,
  config: Config,
  logger: Logger,
  clickhouse: ClickHouse,
  task?: TaskDeclaration,
): Promise<ChampionSource> {
  return startChampionWatcher({
    kafka,
    codec,
    clickhouse,
    topics: config.topics,
    logger,
    ...(task && { task }),
  });
}

const USAGE = `
usage: rainstream api

Serves the dashboard (/) and the HTTP API (forecasts, on-demand predictions, history, quality, drift,
registry, pipeline health; admin routes with ADMIN_TOKEN) on API_HOST:API_PORT (default 127.0.0.1:8080)
for the deployment the environment names, until SIGINT/SIGTERM. Swagger UI at /docs, OpenAPI document at
/openapi.json, Prometheus metrics at /metrics.
`;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'api', usage: USAGE, options: z.strictObject({}) }, argv, serve);
}

async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, undefined, { service: 'api' });
  const redis = createRedis(config.redis, { connectionName: 'rainstream-api' });
  const clickhouse = createClickHouse(config.clickhouse);
  const kafka = createKafka(config, logger, { clientId: 'rainstream-api' });
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  const producer = createProducer(kafka);
  await producer.connect();
  const champions = await championSource(kafka, codec, config, logger, clickhouse);
  // Every other configured task's champion, for POST /predict?task= (GET reads the pipeline's forecasts).
  const taskChampions = new Map<string, ChampionSource>();
  for (const task of tasksOf(config.pipeline.tasks)) {
    if (task.name === 'rain') continue;
    taskChampions.set(task.name, await championSource(kafka, codec, config, logger, clickhouse, task));
  }
  const app = buildApp(
    {
      redis,
      clickhouse,
      champions,
      taskChampions,
      decisionThreshold: config.pipeline.decisionThreshold,
      kafka: { kafka, producer, codec, registryUrl: config.registry.url },
      settings: apiSettingsOf(config),
      metrics: createMetrics({ processMetrics: true }),
      eventTime: config.eventTime,
      stations: loadStationRegistry(config.openMeteo.stationsFile),
    },
    { logger },
  );

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, 'closing');
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: CLOSE_DEADLINE_MS }, 'close did not finish in time; exiting');
      process.exit(1);
    }, CLOSE_DEADLINE_MS);
    deadline.unref();
    app.close().then(
      () => {
        logger.info('closed');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  const address = await app.listen({ host: config.api.host, port: config.api.port });
  logger.info({ address, champion: champions.current().version }, 'api listening');
}

if (import.meta.main) await main(process.argv.slice(2));
