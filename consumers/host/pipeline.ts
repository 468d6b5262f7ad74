/**
 * Hosts any set of stages in one process, like a Kafka Streams topology in one JVM: each stage is its own
 * consumer group, they share the clients. The demo and the benches run all stages here; production may
 * run one stage per process (`--stages predictor`) and scale each by partitions.
 */
import { startChampionWatcher, type ChampionWatcher } from '../../lib/models/champion-watcher.ts';
import { createClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { Config } from '../../lib/platform/config.ts';
import { createKafka } from '../../lib/platform/kafka/client.ts';
import { createProducer } from '../../lib/platform/kafka/producer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { createRedis } from '../../lib/platform/redis.ts';
import { createSchemaRegistry } from '../../lib/platform/schema-registry.ts';
import { startAlertsStage } from '../alerts/shell.ts';
import { startDriftStage } from '../drift/shell.ts';
import { startFeaturesStage } from '../features/shell.ts';
import { startLabelerStage } from '../labeler/shell.ts';
import { createMetrics, type Metrics } from '../../lib/platform/metrics.ts';
import { startPredictorStage } from '../predictor/shell.ts';
import type { RunningStage, StageDeps } from '../shell/stage.ts';
import { startTrainerStage } from '../trainer/shell.ts';
import { registerEvents } from '../../lib/domain/events.ts';

export const STAGES = {
  features: startFeaturesStage,
  predictor: startPredictorStage,
  labeler: startLabelerStage,
  drift: startDriftStage,
  trainer: startTrainerStage,
  alerts: startAlertsStage,
} as const;
export type StageName = keyof typeof STAGES;
export const STAGE_NAMES = Object.keys(STAGES) as StageName[];
const NEEDS_CHAMPION: ReadonlySet<StageName> = new Set(['predictor', 'drift', 'trainer']);

export interface Pipeline {
  stages: RunningStage[];
  metrics: Metrics;
  deps: StageDeps;
  /** Rejects as soon as any stage gives up. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startPipeline(
  config: Config,
  logger: Logger,
  names: readonly StageName[] = STAGE_NAMES,
): Promise<Pipeline> {
  const kafka = createKafka(config, logger);
  const producer = createProducer(kafka);
  const redis = createRedis(config.redis, { connectionName: 'rainstream-pipeline' });
  const clickhouse = createClickHouse(config.clickhouse);
  const metrics = createMetrics();
  await producer.connect();
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  let champion: ChampionWatcher | undefined;
  if (names.some((n) => NEEDS_CHAMPION.has(n))) {
    champion = await startChampionWatcher({ kafka, codec, clickhouse, topics: config.topics, logger });
  }
  const deps: StageDeps = { config, logger, kafka, producer, codec, redis, clickhouse, metrics, champion };
  const stages: RunningStage[] = [];
  const stop = async () => {
    // Stop consuming first (each stage finishes and commits its batch), then close the shared clients.
    await Promise.allSettled(stages.map((s) => s.stop()));
    await champion?.close();
    await producer.disconnect();
    await redis.close();
    await clickhouse.close();
  };
  try {
    for (const name of names) stages.push(await STAGES[name](deps));
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info({ stages: names }, 'pipeline running');
  const done = Promise.all(stages.map((s) => s.done)).then(() => undefined);
  done.catch(() => undefined);
  return { stages, metrics, deps, done, stop };
}
