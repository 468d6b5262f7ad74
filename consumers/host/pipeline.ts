/**
 * Hosts any set of stages in one process, like a Kafka Streams topology in one JVM: each stage is its own
 * consumer group, they share the clients. The demo and the benches run all stages here; production may
 * run one stage per process (`--stages predictor`) and scale each by partitions.
 */
import { Worker } from 'node:worker_threads';
import { startChampionWatcher, type ChampionWatcher } from '../../lib/models/champion-watcher.ts';
import { createClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { Config } from '../../lib/platform/config.ts';
import { createKafka } from '../../lib/platform/kafka/client.ts';
import { createProducer } from '../../lib/platform/kafka/producer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { createRedis } from '../../lib/platform/redis.ts';
import { createSchemaRegistry, registerAll } from '../../lib/platform/schema-registry.ts';
import { SCHEMAS_DIR } from '../../ops/setup.ts';
import { startDriftStage } from '../drift/shell.ts';
import { startFeaturesStage } from '../features/shell.ts';
import { startLabelerStage } from '../labeler/shell.ts';
import { createMetrics, type Metrics } from '../../lib/platform/metrics.ts';
import { startPredictorStage } from '../predictor/shell.ts';
import type { ThreadMessage } from './thread.ts';
import type { RunningStage, StageDeps } from '../shell/stage.ts';
import { startTrainerStage } from '../trainer/shell.ts';

export const STAGES = {
  features: startFeaturesStage,
  predictor: startPredictorStage,
  labeler: startLabelerStage,
  drift: startDriftStage,
  trainer: startTrainerStage,
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
  const codec = await registerAll(createSchemaRegistry(config), config.topics, SCHEMAS_DIR);
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

/** The usual split over two threads: the hot online path, and everything that happens a day later. */
export const TWO_THREADS: readonly (readonly StageName[])[] = [
  ['features', 'predictor'],
  ['labeler', 'drift', 'trainer'],
];

export interface ThreadedPipeline {
  /** Counters summed over the threads, as of their last report (every 100 ms). */
  counters(): Record<string, number>;
  /** Stops every thread; resolves with the final counters and samples. */
  stop(): Promise<{ counters: Record<string, number>; samples: Record<string, Float64Array> }>;
  done: Promise<void>;
}

/**
 * Hosts groups of stages in worker threads, one event loop per group, so one process uses more than one
 * core (a stage is still one consumer group; the split only decides which thread runs it).
 */
export async function startPipelineThreads(
  config: Config,
  groups: readonly (readonly StageName[])[] = TWO_THREADS,
): Promise<ThreadedPipeline> {
  const latest = groups.map(() => ({}) as Record<string, number>);
  let fail!: (e: Error) => void;
  const done = new Promise<void>((_, reject) => (fail = reject));
  done.catch(() => undefined);
  const workers = await Promise.all(
    groups.map(
      (stages, i) =>
        new Promise<Worker>((resolve, reject) => {
          const worker = new Worker(new URL('./thread.ts', import.meta.url), {
            workerData: { config, stages: [...stages] },
          });
          worker.on('message', (m: ThreadMessage) => {
            if (m.type === 'started') resolve(worker);
            else if (m.type === 'counters') latest[i] = m.counters;
            else if (m.type === 'failed') {
              const error = new Error(`stages ${stages.join(',')} failed: ${m.message}`);
              reject(error);
              fail(error);
            }
          });
          worker.on('error', (error) => {
            reject(error);
            fail(error);
          });
        }),
    ),
  );
  const sum = (list: readonly Record<string, number>[]) => {
    const out: Record<string, number> = {};
    for (const c of list) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    counters: () => sum(latest),
    done,
    async stop() {
      const finals = await Promise.all(
        workers.map(
          (w) =>
            new Promise<{ counters: Record<string, number>; samples: Record<string, Float64Array> }>(
              (resolve) => {
                w.on('message', (m: ThreadMessage) => {
                  if (m.type === 'stopped') resolve({ counters: m.counters, samples: m.samples });
                });
                w.postMessage({ type: 'stop' });
              },
            ),
        ),
      );
      await Promise.all(workers.map((w) => w.terminate()));
      const samples: Record<string, Float64Array> = {};
      for (const f of finals) Object.assign(samples, f.samples);
      return { counters: sum(finals.map((f) => f.counters)), samples };
    },
  };
}
