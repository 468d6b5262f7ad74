/**
 * `rainstream pipeline`: the process shell for the stages. Default: every stage on one event loop;
 * `--threads 2` runs the online path (features, predictor) and the day-later path (labeler, drift,
 * trainer) on two threads of this process. Shutdown happens in one place: on SIGINT/SIGTERM, or when a
 * stage gives up, every stage stops consuming, finishes and commits its batch, and the clients close.
 */
import { z } from 'zod';
import { runCommand } from '../../lib/platform/cli/command.ts';
import { loadConfig } from '../../lib/platform/config.ts';
import { createLogger } from '../../lib/platform/log.ts';
import { startMetricsServer } from './metrics-server.ts';
import { STAGE_NAMES, startPipeline, type StageName } from './pipeline.ts';
import { startPipelineThreads, TWO_THREADS } from './threads.ts';

const optionsSchema = z.strictObject({
  stages: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(STAGE_NAMES as [StageName, ...StageName[]])).min(1))
    .default(STAGE_NAMES),
  threads: z.coerce.number().int().min(1).max(2).default(1),
});

const USAGE = `
usage: rainstream pipeline [--stages ${STAGE_NAMES.join(',')}] [--threads 1|2]

Runs pipeline stages (each its own consumer group) in this process until SIGINT/SIGTERM. Scale out by
running more processes with the same stages: they share the partitions of the same groups.

  --stages LIST   stages to host (default: all)
  --threads N     1: one event loop; 2: features+predictor on one thread, labeler+drift+trainer on another
`;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'pipeline', usage: USAGE, options: optionsSchema }, argv, async (options) => {
    const config = loadConfig();
    const logger = createLogger(config);
    let stop: () => Promise<unknown>;
    let done: Promise<void>;
    if (options.threads === 2) {
      const groups = TWO_THREADS.map((g) => g.filter((s) => options.stages.includes(s))).filter(
        (g) => g.length > 0,
      );
      const threaded = await startPipelineThreads(config, groups);
      stop = async () => logger.info({ counters: (await threaded.stop()).counters }, 'stopped');
      done = threaded.done;
    } else {
      const pipeline = await startPipeline(config, logger, options.stages);
      // Prometheus /metrics of this process (METRICS_HOST:METRICS_PORT); threaded runs do not serve it yet.
      const metricsServer = await startMetricsServer(config, pipeline, logger);
      stop = async () => {
        await metricsServer.close();
        await pipeline.stop();
        logger.info({ counters: pipeline.metrics.snapshot().counters }, 'stopped');
      };
      done = pipeline.done;
    }
    return new Promise<number>((resolve) => {
      let stopping = false;
      const shutdown = async (reason: string, code: number) => {
        if (stopping) return;
        stopping = true;
        logger.info({ reason }, 'shutting down');
        await stop();
        resolve(code);
      };
      process.on('SIGINT', () => void shutdown('SIGINT', 0));
      process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
      done.catch((error: unknown) => {
        logger.fatal({ err: error }, 'a stage gave up');
        void shutdown('stage failure', 1);
      });
    });
  });
  // Clients may leave timers behind after closing; the work is done, so end here.
  process.exit(process.exitCode ?? 0);
}

if (import.meta.main) await main(process.argv.slice(2));
