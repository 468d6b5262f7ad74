/**
 * The API's Prometheus metrics, on the process' registry (lib/platform/metrics.ts):
 * - `rainstream_http_request_duration_seconds{method,route,status_code}`: every request, by route pattern;
 * - `rainstream_champion_info{task,version,family}` = 1: what this process serves (rain's champion);
 * - `rainstream_drift_open_incidents`, `rainstream_training_runs{outcome}`,
 *   `rainstream_training_last_run_seconds`: from ClickHouse, at most every 15 s;
 * - `rainstream_consumer_lag{group,stage,topic,partition}`, `rainstream_topic_records{topic}`,
 *   `rainstream_dlq_records`: the pipeline view (Kafka admin, cached a few seconds).
 * Read at scrape time; a store that does not answer leaves the last values, never fails the scrape.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ChampionSource } from '../../lib/models/champion.ts';
import { TASK_NAMES } from '../../lib/models/tasks.ts';
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { openDriftIncidents } from '../../lib/platform/clickhouse/queries/drift-view.ts';
import {
  trainingRunStats,
  type TrainingRunStats,
} from '../../lib/platform/clickhouse/queries/training-stats.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { LATENCY_BUCKETS_S, METRIC_PREFIX } from '../../lib/platform/metrics.ts';
import type { PipelineService } from './pipeline.ts';

export interface HttpMetrics {
  /** The observer of one route pattern: (method, status, seconds). */
  route(pattern: string): (method: string, status: number, seconds: number) => void;
}

const STORE_CACHE_MS = 15_000;

/** A value read at most every `ttlMs`; the last good one stays when a read fails. */
function cachedRead<T>(read: () => Promise<T>, ttlMs: number, clock: () => number) {
  let last: { at: number; value: T } | null = null;
  let inFlight: Promise<T | null> | null = null;
  return async (): Promise<T | null> => {
    if (last !== null && clock() - last.at < ttlMs) return last.value;
    inFlight ??= read().then(
      (value) => {
        last = { at: clock(), value };
        inFlight = null;
        return value;
      },
      () => {
        inFlight = null;
        return last?.value ?? null;
      },
    );
    return inFlight;
  };
}

export function registerApiMetrics(
  registry: Registry,
  deps: {
    champions: ChampionSource;
    clickhouse: SqlRunner;
    pipeline: PipelineService | null;
    clock: () => number;
    logger: Logger;
  },
): HttpMetrics {
  const http = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'HTTP requests served, by method, route pattern and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
  });

  new Gauge({
    name: `${METRIC_PREFIX}champion_info`,
    help: 'The champion this process serves for a task (value 1)',
    labelNames: ['task', 'version', 'family'],
    registers: [registry],
    collect() {
      const c = deps.champions.current();
      this.reset();
      // The API serves rain's champion (the pipeline's /metrics has every task's).
      this.set({ task: 'rain', version: c.version, family: c.family }, 1);
    },
  });

  // Each declared task's champion has its own drift (a task this deployment does not run reads 0).
  const drift = cachedRead(
    () => Promise.all(TASK_NAMES.map((task) => openDriftIncidents(deps.clickhouse, task))),
    STORE_CACHE_MS,
    deps.clock,
  );
  new Gauge({
    name: `${METRIC_PREFIX}drift_open_incidents`,
    help: "Drift incidents still alerting in the task's newest closed week",
    labelNames: ['task'],
    registers: [registry],
    async collect() {
      const counts = await drift();
      if (counts !== null) TASK_NAMES.forEach((task, i) => this.set({ task }, counts[i]!));
    },
  });

  const training = cachedRead<TrainingRunStats>(
    () => trainingRunStats(deps.clickhouse),
    STORE_CACHE_MS,
    deps.clock,
  );
  new Gauge({
    name: `${METRIC_PREFIX}training_runs`,
    help: 'Training runs recorded in the registry, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    async collect() {
      const stats = await training();
      if (stats === null) return;
      for (const [outcome, n] of Object.entries(stats.byOutcome)) this.set({ outcome }, n);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}training_last_run_seconds`,
    help: 'Wall seconds of the newest training run',
    registers: [registry],
    async collect() {
      const stats = await training();
      if (stats?.lastRunSeconds != null) this.set(stats.lastRunSeconds);
    },
  });

  if (deps.pipeline !== null) {
    const pipeline = deps.pipeline;
    const health = async () =>
      pipeline.health().catch((error: unknown) => {
        deps.logger.debug({ err: error }, 'pipeline view unavailable for /metrics');
        return null;
      });
    new Gauge({
      name: `${METRIC_PREFIX}consumer_lag`,
      help: 'Records between a stage group committed offset and the end of the partition',
      labelNames: ['group', 'stage', 'topic', 'partition'],
      registers: [registry],
      async collect() {
        const h = await health();
        if (h === null) return;
        this.reset();
        for (const s of h.stages)
          for (const p of s.partitions)
            this.set(
              { group: s.groupId, stage: s.stage, topic: p.topic, partition: String(p.partition) },
              p.lag,
            );
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}topic_records`,
      help: 'End offsets of a topic summed over its partitions',
      labelNames: ['topic'],
      registers: [registry],
      async collect() {
        const h = await health();
        if (h === null) return;
        for (const t of h.topics) this.set({ topic: t.topic }, t.records);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}dlq_records`,
      help: 'Records on the DLQ topic',
      registers: [registry],
      async collect() {
        const h = await health();
        if (h !== null) this.set(h.dlq.total);
      },
    });
  }

  return {
    route(pattern) {
      const children = new Map<string, { observe(seconds: number): void }>();
      return (method, status, seconds) => {
        const key = `${method} ${status}`;
        let child = children.get(key);
        if (!child) {
          child = http.labels({ method, route: pattern, status_code: String(status) });
          children.set(key, child);
        }
        child.observe(seconds);
      };
    },
  };
}
