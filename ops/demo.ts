/**
 * The main job, one command (`rainstream demo`, `npm run demo`): local stack up, topics/schemas/tables,
 * every stage and the API, a replay of the whole data set (the early years at full speed to train the
 * first champion, then day by day with weekly retraining), a summary read back from ClickHouse, and then
 * it keeps serving.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runCommand } from '../lib/platform/cli/command.ts';
import { createProgress } from '../lib/platform/cli/progress.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { loadConfig } from '../lib/platform/config.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createLogger } from '../lib/platform/log.ts';
import { isIsoDate, readWeatherCsvFile } from '../lib/domain/weather/csv.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { replay } from '../producers/replay/replay.ts';
import { planReplay } from '../producers/replay/plan.ts';
import { waitForDrain } from '../lib/deployment/drain.ts';
import { registerEvents } from '../lib/domain/events.ts';
import { pipelineSummary } from '../lib/deployment/summary.ts';
import { runSetup } from '../lib/deployment/setup.ts';
import { championPoller } from '../producers/replay/gate.ts';
import { startPipelineThreads, TWO_THREADS } from '../consumers/host/threads.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const optionsSchema = z.strictObject({
  warmupUntil: z.string().refine(isIsoDate).default('2013-12-31'),
  speed: z.coerce.number().min(0).default(40),
  deployment: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .optional(),
  exitWhenDone: z.boolean().default(false),
});

const USAGE = `
usage: rainstream demo [options]

Starts the local stack (installing what is missing), sets up a deployment of its own (demo-<time>), runs
every stage and the API, replays the whole data set, prints a summary read back from ClickHouse and keeps
serving http://127.0.0.1:8080 until Ctrl-C.

  --warmup-until DATE   replay at full speed up to DATE, then wait for the first trained champion
                        (default 2013-12-31)
  --speed DAYS_PER_S    pace after the warm-up (default 40)
  --deployment NAME     name of the deployment (default: demo-<time>, a new one per run)
  --exit-when-done      stop after the summary instead of serving
`;

type DemoOptions = z.infer<typeof optionsSchema>;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'demo', usage: USAGE, options: optionsSchema }, argv, runDemo);
}

async function runDemo(options: DemoOptions): Promise<number | void> {
  const step = (text: string) => process.stderr.write(`\n== ${text}\n`);

  step('local stack');
  const stack = spawnSync('bash', ['ops/stack', 'up'], { cwd: ROOT, stdio: 'inherit' });
  if (stack.status !== 0) return stack.status ?? 1;

  // Each demo run is its own deployment (topics, groups, Redis keys, ClickHouse database), so a second run
  // starts from nothing instead of adding to the first one's counts.
  const deployment =
    options.deployment ?? `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
  const env = {
    ...process.env,
    TOPIC_PREFIX: process.env.TOPIC_PREFIX ?? `rainstream-${deployment}`,
    REDIS_PREFIX: process.env.REDIS_PREFIX ?? `rs-${deployment}`,
    CLICKHOUSE_DATABASE: process.env.CLICKHOUSE_DATABASE ?? `rainstream_${deployment.replace(/-/g, '_')}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const config = loadConfig(env);
  const logger = createLogger(config);

  step(`setup (topics ${config.topics.observations} ..., database ${config.clickhouse.database})`);
  await runSetup(config, logger);

  step('pipeline: features + predictor | labeler + drift + trainer, in two threads');
  const pipeline = await startPipelineThreads(config, TWO_THREADS);
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  pipeline.done.catch((error: unknown) => {
    logger.fatal({ err: error }, 'a stage gave up');
    process.exit(1);
  });

  step(`API on http://${config.api.host}:${config.api.port}`);
  const api: ChildProcess = spawn(process.execPath, ['api/server.ts'], { cwd: ROOT, env, stdio: 'inherit' });

  const clickhouse = createClickHouse(config.clickhouse);
  const kafka = createKafka(config, logger, { clientId: 'rainstream-replay' });
  const producer = createProducer(kafka);
  await producer.connect();

  step(`replay ${config.dataFile}: full speed until ${options.warmupUntil}, then ${options.speed} days/s`);
  const rows = await readWeatherCsvFile(config.dataFile);
  const events = planReplay(rows).events;
  const started = Date.now();
  const replayed = await replay(
    rows,
    config.dataFile,
    { warmupUntil: options.warmupUntil, speed: options.speed, quiet: false },
    {
      producer,
      codec,
      topics: config.topics,
      logger,
      waitForTrainedChampion: championPoller(clickhouse),
      progress: createProgress('replay', events),
    },
  );
  await producer.disconnect();

  step('waiting for the pipeline to drain into ClickHouse');
  await waitForDrain(clickhouse, { predictions: replayed.events });
  // The last week's retraining may still be running; its run is part of the story.
  const summary = await pipelineSummary(clickhouse);
  const p = summary.prequential;
  const f = (x: number | undefined, d = 4) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  console.log(`
rainstream demo summary (${((Date.now() - started) / 1000).toFixed(1)} s)
  events replayed          ${replayed.events} (${replayed.rejected} invalid rows to the DLQ)
  predictions              ${summary.counts.predictions}
  labels joined            ${summary.counts.labeled_examples}
  actuals (joined+missing) ${summary.counts.actuals}
  drift rows               ${summary.counts.drift}
  models trained           ${summary.modelsTrained}
  models promoted          ${summary.modelsPromoted}
  prequential, from ${summary.firstTrainedChampionFrom ?? '-'} (first trained champion):
    scored predictions     ${p?.n ?? 0}
    ROC AUC                ${f(p?.auc)}
    accuracy               ${f(p?.accuracy)}
    Brier                  ${f(p?.brier)}

  try: curl 'http://${config.api.host}:${config.api.port}/predict?location=Sydney'
       npm run models -- list     (with TOPIC_PREFIX=${config.topics.observations.replace(/\.observations\.v1$/, '')} CLICKHOUSE_DATABASE=${config.clickhouse.database})
${options.exitWhenDone ? '' : '  serving until Ctrl-C\n'}`);

  const shutdown = async () => {
    api.kill('SIGTERM');
    await pipeline.stop();
    await clickhouse.close();
    process.exit(0);
  };
  if (options.exitWhenDone) await shutdown();
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

if (import.meta.main) await main(process.argv.slice(2));
