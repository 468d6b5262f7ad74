/**
 * `/metrics` of a pipeline process, for Prometheus: the stages' signals (lib/platform/metrics.ts: records
 * in/out/DLQ per stage and reason, outcomes, latency histograms, training runs), the process' own metrics,
 * the champion this process serves, and the consumer lag of the stage groups it hosts (read from Kafka at
 * scrape time, at most every few seconds). A plain node:http server: one route, nothing else to serve.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Gauge } from 'prom-client';
import { stageGroups } from '../../lib/deployment/consumer-groups.ts';
import type { Config } from '../../lib/platform/config.ts';
import { consumerLag, type GroupLag } from '../../lib/platform/consumer-lag.ts';
import type { Admin } from '../../lib/platform/kafka/client.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { METRIC_PREFIX } from '../../lib/platform/metrics.ts';
import type { Pipeline } from './pipeline.ts';

export interface MetricsServer {
  /** Where it listens, e.g. http://127.0.0.1:9464/metrics. */
  url: string;
  close(): Promise<void>;
}

const LAG_CACHE_MS = 5_000;

export async function startMetricsServer(
  config: Pick<Config, 'metrics' | 'groupPrefix' | 'topics'>,
  pipeline: Pipeline,
  logger: Logger,
): Promise<MetricsServer> {
  const log = logger.child({ component: 'metrics-server' });
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
  const champion = pipeline.deps.champion;
  if (champion) {
    new Gauge({
      name: `${METRIC_PREFIX}champion_info`,
      help: 'The champion this process serves (value 1)',
      labelNames: ['version', 'family'],
      registers: [registry],
      collect() {
        const c = champion.current();
        this.reset();
        this.set({ version: c.version, family: c.family }, 1);
      },
    });
  }

  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => {
        log.error({ err: error }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.metrics.port, config.metrics.host, () => resolve());
    });
  } catch (error) {
    // Metrics are not worth stopping the pipeline for (say, a second process on the same port).
    log.error({ err: error, port: config.metrics.port }, 'metrics server not started; set METRICS_PORT');
    return { url: '', close: async () => undefined };
  }
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`;
  log.info({ url }, 'serving metrics');
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await (admin as Admin | null)?.disconnect().catch(() => undefined);
    },
  };
}
