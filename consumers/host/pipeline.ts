/**
 * Hosts any set of stages in one process, like a Kafka Streams topology in one JVM: each stage is its own
 * consumer group, they share the clients. The demo and the benches run all stages here; production may
 * run one stage per process (`--stages predictor`) and scale each by partitions.
 *
 * Start-up waits for Kafka, the registry, ClickHouse and Redis instead of failing; a stage that cannot
 * start is tried again, loudly, rather than taking the others down. Once running, a stage never gives up
 * by itself (outages are waited out in the consumer shell): the process ends on a signal only.
 */
import { startChampionWatcher, type ChampionWatcher } from '../../lib/models/champion-watcher.ts';
import { createClickHouse } from '../../lib/platform/clickhouse/client.ts';
import { groupInserts } from '../../lib/platform/clickhouse/group-insert.ts';
import type { Config } from '../../lib/platform/config.ts';
import { describeError, isRetriable, RainstreamError } from '../../lib/platform/errors.ts';
import { createHealth, reporterOf, type Health } from '../../lib/platform/health.ts';
import { createKafka } from '../../lib/platform/kafka/client.ts';
import { createProducer } from '../../lib/platform/kafka/producer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { createRedis } from '../../lib/platform/redis.ts';
import { retryForever } from '../../lib/platform/retry.ts';
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
import { waitForDependency } from './dependencies.ts';
import { tasksOf } from '../../lib/models/tasks.ts';

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
  health: Health;
  deps: StageDeps;
  /** Settles once every stage has stopped (stages never give up by themselves). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  /** Where the components report (the host's /ready); a new one by default. */
  health?: Health;
  /** Aborts the start-up waits (a signal arriving while a dependency is still away). */
  signal?: AbortSignal;
}

export async function startPipeline(
  config: Config,
  logger: Logger,
  names: readonly StageName[] = STAGE_NAMES,
  options: PipelineOptions = {},
): Promise<Pipeline> {
  const health = options.health ?? createHealth();
  const signal = options.signal;
  const kafka = createKafka(config, logger);
  const producer = createProducer(kafka);
  const redis = createRedis(config.redis, { connectionName: 'rainstream-pipeline' });
  // The stages of this process (and the partitions of each) share one group commit per table.
  const clickhouse = groupInserts(createClickHouse(config.clickhouse));
  const metrics = createMetrics();
  const wait = { logger, health, signal };

  let champion: ChampionWatcher | undefined;
  const champions = new Map<string, ChampionWatcher>();
  const stages: RunningStage[] = [];
  const stop = async () => {
    // Stop consuming first (each stage finishes or lets go of its batch), then close the shared clients.
    await Promise.allSettled(stages.map((s) => s.stop()));
    await Promise.allSettled([...champions.values()].map((c) => c.close()));
    await producer.disconnect().catch(() => undefined);
    await redis.close();
    await clickhouse.close().catch(() => undefined);
  };

  try {
    const [codec] = await Promise.all([
      waitForDependency('registry', () => registerEvents(createSchemaRegistry(config), config.topics), wait),
      waitForDependency('kafka', () => producer.connect(), wait),
      waitForDependency(
        'clickhouse',
        async () => {
          if (!(await clickhouse.ping()))
            throw new RainstreamError('CLICKHOUSE', 'ClickHouse does not answer ping');
        },
        wait,
      ),
      waitForDependency('redis', () => redis.client.ping(), wait),
    ]);
    if (names.some((n) => NEEDS_CHAMPION.has(n))) {
      // One watcher per task: each follows its task's champion alias.
      for (const task of tasksOf(config.pipeline.tasks)) {
        champions.set(
          task.name,
          await startChampionWatcher({
            task,
            kafka,
            codec,
            clickhouse,
            topics: config.topics,
            logger,
            producer,
            metrics,
            health: reporterOf(
              health,
              task.name === 'rain' ? 'champion-watcher' : `champion-watcher:${task.name}`,
            ),
            signal,
          }),
        );
      }
      champion = champions.get('rain');
    }
    const deps: StageDeps = {
      config,
      logger,
      kafka,
      producer,
      codec,
      redis,
      clickhouse,
      metrics,
      health,
      champion,
      champions,
    };
    for (const name of names) {
      stages.push(
        await retryForever(() => STAGES[name](deps), {
          signal,
          onRetry: ({ error, attempt }) => {
            health.set(`stage:${name}`, false, `not started: ${describeError(error)}`);
            if (attempt === 1 || attempt % 10 === 0) {
              const fields = { stage: name, err: error, attempt };
              if (isRetriable(error)) logger.warn(fields, 'stage could not start; trying again');
              else
                logger.error(fields, 'stage could not start on an error no retry should fix; trying again');
            }
          },
        }),
      );
    }
    logger.info({ stages: names }, 'pipeline running');
    const done = Promise.all(stages.map((s) => s.done)).then(() => undefined);
    done.catch(() => undefined);
    return { stages, metrics, health, deps, done, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
