/**
 * `GET /metrics` of a pipeline process, for Prometheus, served by the host's health endpoint (health.ts):
 * the stages' signals (lib/platform/metrics.ts: records in/out/DLQ per stage and reason, outcomes,
 * latency histograms, training runs), the process' own metrics, the champion this process serves per task, and
 * the consumer lag of the stage groups it hosts (read from Kafka at scrape time, at most every few
 * seconds).
 */
import { collectDefaultMetrics, Gauge } from 'prom-client';
import { stageGroups } from '../../lib/deployment/consumer-groups.ts';
import type { Config } from '../../lib/platform/config.ts';
import { consumerLag, type GroupLag } from '../../lib/platform/consumer-lag.ts';
import type { Admin } from '../../lib/platform/kafka/client.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { METRIC_PREFIX } from '../../lib/platform/metrics.ts';
import type { Route } from './health.ts';
import type { Pipeline } from './pipeline.ts';

export interface MetricsRoute {
  route: Route;
  /** Lets go of the Kafka admin client the lag gauge uses. */
  close(): Promise<void>;
}

const LAG_CACHE_MS = 5_000;

export function metricsRoute(
  config: Pick<Config, 'groupPrefix' | 'topics'>,
  pipeline: Pipeline,
  logger: Logger,
): MetricsRoute {
  const log = logger.child({ component: 'metrics' });
  const registry = pipeline.metrics.registry;
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const hosted = new Set(pipeline.stages.map((s) => s.name));
  const groups = stageGroups(config).filter((g) => hosted.has(g.stage));

  let admin: Admin | null = null;
  let lastLag: { at: number; lags: Promise<GroupLag[]> } | null = null;
  const lags = (): Promise<GroupLag[]> => {
    const now = Date.now();
    if (lastLag === null || now - lastLag.at > LAG_CACHE_MS) {
      lastLag = {
        at: now,
        lags: (async () => {
          if (admin === null) {
            const a = pipeline.deps.kafka.admin();
            await a.connect();
            admin = a;
          }
          return consumerLag(admin, groups);
        })(),
      };
      lastLag.lags.catch((error: unknown) => {
        log.debug({ err: error }, 'consumer lag unavailable');
        lastLag = null;
      });
    }
    return lastLag.lags;
  };

  new Gauge({
    name: `${METRIC_PREFIX}consumer_lag`,
    help: 'Records between a stage group committed offset and the end of the partition',
    labelNames: ['group', 'stage', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      const result = await lags().catch(() => null);
      if (result === null) return;
      this.reset();
      result.forEach((g, i) => {
        for (const p of g.partitions)
          this.set(
            { group: g.groupId, stage: groups[i]!.stage, topic: p.topic, partition: String(p.partition) },
            p.lag,
          );
      });
    },
  });
  // One champion per task (rain, max_temp, ...): each task's watcher says what the process serves.
  const champions = new Map(pipeline.deps.champions);
  if (champions.size === 0 && pipeline.deps.champion) champions.set('rain', pipeline.deps.champion);
  if (champions.size > 0) {
    new Gauge({
      name: `${METRIC_PREFIX}champion_info`,
      help: 'The champion this process serves for a task (value 1)',
      labelNames: ['task', 'version', 'family'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [task, champion] of champions) {
          const c = champion.current();
          this.set({ task, version: c.version, family: c.family }, 1);
        }
      },
    });
  }

  return {
    route: (_request, response) =>
      registry.metrics().then(
        (text) => void response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => {
          log.error({ err: error }, 'metrics collection failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      ),
    async close() {
      await (admin as Admin | null)?.disconnect().catch(() => undefined);
    },
  };
}
