/**
 * Process shell for the stages: `node consumers/main.ts [--stages features,predictor,...]` (default: all).
 * Shutdown happens in one place: on SIGINT/SIGTERM, or when a stage gives up, every stage stops consuming,
 * finishes and commits its batch, and the clients close.
 */
import { z } from 'zod';
import { parseArgs, UsageError } from '../lib/cli/args.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { STAGE_NAMES, startPipeline, type StageName } from './pipeline.ts';

const optionsSchema = z.strictObject({
  stages: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(STAGE_NAMES as [StageName, ...StageName[]])).min(1))
    .default(STAGE_NAMES),
});

let options: z.infer<typeof optionsSchema>;
try {
  options = parseArgs(process.argv.slice(2), optionsSchema);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(
    `consumers: ${error.message}\nusage: node consumers/main.ts [--stages ${STAGE_NAMES.join(',')}]`,
  );
  process.exit(2);
}
const config = loadConfig();
const logger = createLogger(config);
const pipeline = await startPipeline(config, logger, options.stages);
let stopping = false;
const shutdown = async (reason: string, code: number) => {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, 'shutting down');
  await pipeline.stop();
  logger.info({ counters: pipeline.metrics.snapshot().counters }, 'stopped');
  process.exit(code);
};
process.on('SIGINT', () => void shutdown('SIGINT', 0));
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
pipeline.done.catch((error: unknown) => {
  logger.fatal({ err: error }, 'a stage gave up');
  void shutdown('stage failure', 1);
});
