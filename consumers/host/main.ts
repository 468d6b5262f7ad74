/**
 * `rainstream pipeline`: the process shell for the stages. Default: every stage on one event loop;
 * `--threads 2` runs the online path (features, predictor) and the day-later path (labeler, drift,
 * trainer) on two threads of this process. Shutdown happens in one place: on SIGINT/SIGTERM every stage
 * stops consuming, finishes or lets go of its batch, leaves its group (so the partitions move at once),
 * and the clients close. Every line the process prints is a JSON log line.
 */
import { z } from 'zod';
import { runCommand } from '../../lib/platform/cli/command.ts';
import { loadConfig } from '../../lib/platform/config.ts';
import { createHealth } from '../../lib/platform/health.ts';
import { createLogger } from '../../lib/platform/log.ts';
import { routeProcessOutputToLog } from '../../lib/platform/process-log.ts';
import { startHealthServer, type HealthServer, type Route } from './health.ts';
import { metricsRoute, type MetricsRoute } from './metrics-route.ts';
import { STAGE_NAMES, startPipeline, type StageName } from './pipeline.ts';
import { startPipelineThreads, TWO_THREADS } from './threads.ts';

/** Past this, a shutdown still waiting on something hung exits anyway (the group has been left by then). */
const SHUTDOWN_DEADLINE_MS = 20_000;

const optionsSchema = z.strictObject({
  stages: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(STAGE_NAMES as [StageName, ...StageName[]])).min(1))
    .default(STAGE_NAMES),
  threads: z.coerce.number().int().min(1).max(2).default(1),
  healthPort: z.coerce.number().int().min(0).max(65535).optional(),
});

const USAGE = `
usage: rainstream pipeline [--stages ${STAGE_NAMES.join(',')}] [--threads 1|2] [--health-port N]

Runs pipeline stages (each its own consumer group) in this process until SIGINT/SIGTERM. Scale out by
running more processes with the same stages: they share the partitions of the same groups. Start-up
waits for Kafka, the registry, ClickHouse and Redis; an outage later is waited out, never died of.

  --stages LIST      stages to host (default: all)
  --threads N        1: one event loop; 2: features+predictor on one thread, labeler+drift+trainer on another
  --health-port N    serve GET /health, /ready and /metrics on N (0: any free port, logged) instead of
                     METRICS_HOST:METRICS_PORT (default 127.0.0.1:9464); /metrics with --threads 1 only
`;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'pipeline', usage: USAGE, options: optionsSchema }, argv, async (options) => {
    const config = loadConfig();
    const logger = createLogger(config, undefined, { service: 'pipeline' });
    routeProcessOutputToLog(logger);
    const health = createHealth();
    health.set('host', false, 'starting');
    const starting = new AbortController();
    let server: HealthServer | undefined;
    let metrics: MetricsRoute | undefined;
    // Filled in once the pipeline runs: the server answers /health and /ready while it waits to start.
    const routes: Record<string, Route> = {};
    let stop: (() => Promise<unknown>) | null = null;
    let done: Promise<void> = new Promise<void>(() => undefined);
    return new Promise<number>((resolve) => {
      let stopping = false;
      const shutdown = async (reason: string, code: number) => {
        if (stopping) return;
        stopping = true;
        health.set('host', false, 'stopping');
        logger.info({ reason }, 'shutting down');
        const deadline = setTimeout(() => {
          logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
          resolve(code || 1);
        }, SHUTDOWN_DEADLINE_MS);
        deadline.unref();
        starting.abort();
        try {
          await stop?.();
        } catch (error) {
          logger.error({ err: error }, 'shutdown failed');
        }
        await metrics?.close();
        await server?.close();
        clearTimeout(deadline);
        resolve(code);
      };
      process.on('SIGINT', () => void shutdown('SIGINT', 0));
      process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
      void (async () => {
        // One small HTTP endpoint per process for operators: liveness, readiness, Prometheus. A port that is
        // taken (a second process on the default) costs the endpoint, never the pipeline.
        const port = options.healthPort ?? config.metrics.port;
        server = await startHealthServer({ health, port, host: config.metrics.host, logger, routes }).catch(
          (error: unknown) => {
            logger.error({ err: error, port }, 'health and metrics endpoint not started; set METRICS_PORT');
            return undefined;
          },
        );
        if (options.threads === 2) {
          const groups = TWO_THREADS.map((g) => g.filter((s) => options.stages.includes(s))).filter(
            (g) => g.length > 0,
          );
          const threaded = await startPipelineThreads(config, groups);
          stop = async () => logger.info({ counters: (await threaded.stop()).counters }, 'stopped');
          done = threaded.done;
          health.set('threads', true);
        } else {
          const pipeline = await startPipeline(config, logger, options.stages, {
            health,
            signal: starting.signal,
          });
          metrics = metricsRoute(config, pipeline, logger);
          routes['/metrics'] = metrics.route;
          stop = async () => {
            await pipeline.stop();
            logger.info({ counters: pipeline.metrics.snapshot().counters }, 'stopped');
          };
          done = pipeline.done;
        }
        if (stopping) await stop();
        else health.set('host', true);
        done.catch((error: unknown) => {
          logger.fatal({ err: error }, 'a stage failed');
          void shutdown('stage failure', 1);
        });
      })().catch((error: unknown) => {
        if (stopping) return;
        logger.fatal({ err: error }, 'the pipeline could not start');
        void shutdown('start failure', 1);
      });
    });
  });
  // Clients may leave timers behind after closing; the work is done, so end here.
  process.exit(process.exitCode ?? 0);
}

if (import.meta.main) await main(process.argv.slice(2));
