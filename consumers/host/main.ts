/**
 * Process shell for the stages: `node consumers/main.ts [--stages features,predictor,...] [--threads 2]`.
 * Default: every stage on one event loop; `--threads 2` runs the online path (features, predictor) and the
 * day-later path (labeler, drift, trainer) on two threads of this process. Shutdown happens in one place:
 * on SIGINT/SIGTERM, or when a stage gives up, every stage stops consuming, finishes and commits its
 * batch, and the clients close.
 */
import { z } from 'zod';
import { parseArgs, UsageError } from '../../lib/platform/cli/args.ts';
import { loadConfig } from '../../lib/platform/config.ts';
import { createLogger } from '../../lib/platform/log.ts';
import { STAGE_NAMES, startPipeline, startPipelineThreads, TWO_THREADS, type StageName } from './pipeline.ts';

const optionsSchema = z.strictObject({
  stages: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(STAGE_NAMES as [StageName, ...StageName[]])).min(1))
    .default(STAGE_NAMES),
  threads: z.coerce.number().int().min(1).max(2).default(1),
});

let options: z.infer<typeof optionsSchema>;
try {
  options = parseArgs(process.argv.slice(2), optionsSchema);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(
    `consumers: ${error.message}\nusage: node consumers/main.ts [--stages ${STAGE_NAMES.join(',')}] [--threads 1|2]`,
  );
  process.exit(2);
}
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
  stop = async () => {
    await pipeline.stop();
    logger.info({ counters: pipeline.metrics.snapshot().counters }, 'stopped');
  };
  done = pipeline.done;
}

let stopping = false;
const shutdown = async (reason: string, code: number) => {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, 'shutting down');
  await stop();
  process.exit(code);
};
process.on('SIGINT', () => void shutdown('SIGINT', 0));
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
done.catch((error: unknown) => {
  logger.fatal({ err: error }, 'a stage gave up');
  void shutdown('stage failure', 1);
});
