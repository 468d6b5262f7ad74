/**
 * The main job, one command (`rainstream demo`, `npm run demo`): local stack up, topics/schemas/tables,
 * every stage and the API, a replay of the whole data set kept at most a week ahead of the weekly
 * retraining (so every event-time week after the warm-up is retrained on its own), a wait until
 * predictions, labels, drift and training have all drained, a summary read back from ClickHouse, and then
 * it keeps serving (or exits, with --exit-when-done). The last line on stdout is `demo: key=value ...`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runCommand } from '../lib/platform/cli/command.ts';
import { createProgress } from '../lib/platform/cli/progress.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { loadConfig } from '../lib/platform/config.ts';
import { tasksOf } from '../lib/models/tasks.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createLogger } from '../lib/platform/log.ts';
import { isIsoDate, readWeatherCsvFile } from '../lib/domain/weather/csv.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { replay } from '../producers/replay/replay.ts';
import { planReplay } from '../producers/replay/plan.ts';
import { expectedLabels, waitForSettled } from '../lib/deployment/drain.ts';
import { lagProbe, restGroups } from '../lib/deployment/consumer-groups.ts';
import { registerEvents } from '../lib/domain/events.ts';
import {
  dlqCount,
  pipelineSummary,
  regressionTaskSummary,
  readRetrainingFigures,
  summaryFigures,
} from '../lib/deployment/summary.ts';
import { runSetup } from '../lib/deployment/setup.ts';
import { championPoller, trainingGate } from '../producers/replay/gate.ts';
import { BOUNDARY_GRACE_DAYS } from '../consumers/trainer/step.ts';
import { startPipelineThreads, TWO_THREADS } from '../consumers/host/threads.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const isoDate = z.string().refine(isIsoDate, 'expected a calendar date YYYY-MM-DD');
const optionsSchema = z.strictObject({
  maxLeadDays: z.coerce.number().int().min(0).default(7),
  warmupUntil: isoDate.optional(),
  speed: z.coerce.number().min(0).default(0),
  from: isoDate.optional(),
  to: isoDate.optional(),
  deployment: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .optional(),
  exitWhenDone: z.boolean().default(false),
});

const USAGE = `
usage: rainstream demo [options]

Starts the local stack (installing what is missing), sets up a deployment of its own (demo-<time>), runs
every stage and the API, replays the data set with weekly retraining, waits until predictions, labels,
drift and training have drained, prints a summary read back from ClickHouse (its last line
\`demo: key=value ...\`) and keeps serving http://127.0.0.1:8080 until Ctrl-C.

  --max-lead-days N     keep the replay at most N days ahead of the weekly retraining (default 7: every
                        week after the warm-up has a run of its own); 0 = no gate
  --warmup-until DATE   with --max-lead-days 0: full speed up to DATE, then wait for a trained champion
  --speed DAYS_PER_S    pace (default 0: as fast as the retraining allows)
  --from DATE, --to DATE  replay only this date range (a slice)
  --deployment NAME     name of the deployment (default: demo-<time>, a new one per run)
  --exit-when-done      stop after the summary instead of serving
`;

type DemoOptions = z.infer<typeof optionsSchema>;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'demo', usage: USAGE, options: optionsSchema }, argv, runDemo);
}

/** Up to 6 significant decimals, no exponent, no trailing zeros (BENCH.md's plain numbers). */
function plain(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const digits = Math.max(0, Math.min(12, 6 - Math.floor(Math.log10(Math.abs(value))) - 1));
  return value.toFixed(digits).replace(/\.?0+$/, '');
}

async function runDemo(options: DemoOptions): Promise<number | void> {
  const started = Date.now();
  const step = (text: string) => process.stderr.write(`\n== ${text}\n`);

  step('local stack');
  const stack = spawnSync('bash', ['ops/stack', 'up'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
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
    // Every process's JSON lines (a drift incident opening is a warning; ten years of them are thousands)
    // go to one file, so the terminal shows the steps, the progress and the summary.
    LOG_FILE: process.env.LOG_FILE ?? join(ROOT, '.state', 'logs', `${deployment}.log`),
    // The replay waits on the stages once a week: each fetch returns what has arrived at once instead of
    // waiting for a larger batch (latency over throughput).
    STAGE_FETCH_MIN_BYTES: process.env.STAGE_FETCH_MIN_BYTES ?? '1',
  };
  const config = loadConfig(env);
  const logger = createLogger(config);

  step(`logs of every process: ${config.logFile ?? 'stdout'}`);
  step(`setup (topics ${config.topics.observations} ..., database ${config.clickhouse.database})`);
  await runSetup(config, logger);

  step('pipeline: features + predictor | labeler + drift + trainer, in two threads');
  const pipeline = await startPipelineThreads(config, TWO_THREADS);
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  pipeline.done.catch((error: unknown) => {
    logger.fatal({ err: error }, 'a stage gave up');
    process.stderr.write(`a stage gave up: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });

  step(`API on http://${config.api.host}:${config.api.port}`);
  const api: ChildProcess = spawn(process.execPath, ['api/server.ts'], { cwd: ROOT, env, stdio: 'inherit' });

  const clickhouse = createClickHouse(config.clickhouse);
  const kafka = createKafka(config, logger, { clientId: 'rainstream-replay' });
  const producer = createProducer(kafka);
  await producer.connect();
  const upToLabels = lagProbe(kafka, restGroups(config, 'labeler'));
  const everything = lagProbe(kafka, restGroups(config, 'drift'));

  const lead = options.maxLeadDays;
  step(
    `replay ${config.dataFile}${options.from || options.to ? ` from ${options.from ?? 'the start'} to ${options.to ?? 'the end'}` : ''}: ` +
      (lead > 0
        ? `at most ${lead} days ahead of the weekly retraining`
        : `no retraining gate${options.warmupUntil ? `, full speed until ${options.warmupUntil}` : ''}`) +
      (options.speed > 0 ? `, at most ${options.speed} days/s` : ''),
  );
  const rows = await readWeatherCsvFile(config.dataFile);
  const plan = planReplay(rows, { from: options.from, to: options.to });
  const replayed = await replay(
    rows,
    config.dataFile,
    {
      from: options.from,
      to: options.to,
      warmupUntil: lead > 0 ? undefined : options.warmupUntil,
      maxLeadDays: lead > 0 ? lead : undefined,
      speed: options.speed,
      quiet: false,
    },
    {
      producer,
      codec,
      topics: config.topics,
      logger,
      waitForTrainedChampion: championPoller(clickhouse),
      waitForTraining:
        lead > 0
          ? trainingGate(clickhouse, lead, {
              pipelineIdle: upToLabels.idle,
              timeoutMs: 30 * 60_000,
              tasks: config.pipeline.tasks,
            })
          : undefined,
      progress: createProgress('replay', plan.events),
    },
  );
  await producer.disconnect();

  const labelsExpected = expectedLabels(plan.days.flatMap((d) => d.observations));
  step('waiting until predictions, labels, drift and training have drained');
  const settled = await waitForSettled(clickhouse, {
    predictions: replayed.events,
    labels: labelsExpected,
    idle: everything.idle,
    graceDays: BOUNDARY_GRACE_DAYS,
    tasks: config.pipeline.tasks,
    onWaiting: (what) => logger.debug({ waitingFor: what }, 'draining'),
  });
  await Promise.all([upToLabels.close(), everything.close()]);
  const summary = await pipelineSummary(clickhouse);
  const weekly = await readRetrainingFigures(clickhouse, summary.firstTrainedChampionFrom);
  const regressions = await Promise.all(
    tasksOf(config.pipeline.tasks)
      .filter((t) => t.type === 'regression')
      .map((t) => regressionTaskSummary(clickhouse, t.name, t.priorVersion)),
  );
  const dlq = await dlqCount(kafka, config.topics);
  const wallS = (Date.now() - started) / 1000;
  const p = summary.prequential;
  const f = (x: number | null | undefined, d = 4) =>
    x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d);
  console.log(`
rainstream demo summary (${wallS.toFixed(1)} s, stack and setup included)
  events replayed          ${replayed.events} (${replayed.rejected} invalid rows to the DLQ; ${dlq} DLQ records in all)
  predictions              ${summary.counts.predictions}
  labels joined            ${summary.counts.labeled_examples} of ${labelsExpected} expected
  actuals (joined+missing) ${summary.counts.actuals}
  drift rows               ${summary.counts.drift}
  logs                     ${config.logFile ?? 'stdout'}
${settled.settled ? '' : `  NOT DRAINED: stalled waiting for ${settled.waitingFor.join(', ')}\n`}  weekly retraining, from ${summary.firstTrainedChampionFrom ?? '-'} (first trained champion):
    weeks replayed         ${weekly.weeksReplayed}
    weeks retrained        ${weekly.weeksTrained} (each in a run of its own when most coalesced is 1)
    most weeks coalesced   ${weekly.maxCoalescedWeeks}
    staleness, max days    ${weekly.maxStalenessDays ?? 'n/a'} (outside the data's holes)
    weekly runs            ${weekly.weeklyRuns}, seconds median ${f(weekly.retrainP50, 2)}, p90 ${f(weekly.retrainP90, 2)}
    commands run           ${weekly.commandRuns}
    models trained         ${summary.modelsTrained}, promoted ${summary.modelsPromoted}
  prequential, from ${summary.firstTrainedChampionFrom ?? '-'}:
    scored predictions     ${p?.n ?? 0}
    ROC AUC                ${f(p?.auc)}
    Brier                  ${f(p?.brier)}
    accuracy               ${f(p?.accuracy)}
${regressions
  .map(
    (r) => `  task ${r.task} (regression), from ${r.firstTrainedChampionFrom ?? '-'} (first trained champion):
    weekly runs            ${r.weekly.weeklyRuns}, seconds median ${f(r.weekly.retrainP50, 2)}, p90 ${f(r.weekly.retrainP90, 2)}
    weeks retrained        ${r.weekly.weeksTrained} of ${r.weekly.weeksReplayed}, most coalesced ${r.weekly.maxCoalescedWeeks}
    scored forecasts       ${r.quality?.n ?? 0}
    R², RMSE, MAE          ${f(r.quality?.r2)}, ${f(r.quality?.rmse, 2)}, ${f(r.quality?.mae, 2)}
`,
  )
  .join('')}`);
  if (!options.exitWhenDone) {
    process.stderr.write(
      `try: curl 'http://${config.api.host}:${config.api.port}/predict?location=Sydney'\n` +
        `     npm run models -- list  (with TOPIC_PREFIX=${config.topics.observations.replace(/\.observations\.v1$/, '')} CLICKHOUSE_DATABASE=${config.clickhouse.database})\n` +
        'serving until Ctrl-C\n',
    );
  }
  const figures = summaryFigures({
    wall_s: wallS,
    events: replayed.events,
    predictions: summary.counts.predictions,
    labels_joined: summary.counts.labeled_examples,
    labels_expected: labelsExpected,
    weeks_replayed: weekly.weeksReplayed,
    weeks_trained: weekly.weeksTrained,
    max_coalesced_weeks: weekly.maxCoalescedWeeks,
    max_staleness_days: weekly.maxStalenessDays,
    auc: p?.auc,
    brier: p?.brier,
    accuracy: p?.accuracy,
    scored: p?.n,
    dlq,
    ...Object.fromEntries(
      regressions.flatMap((r) => [
        [`${r.task}_runs`, r.weekly.weeklyRuns],
        [`${r.task}_retrain_p50_s`, r.weekly.retrainP50],
        [`${r.task}_weeks_trained`, r.weekly.weeksTrained],
        [`${r.task}_r2`, r.quality?.r2],
        [`${r.task}_rmse`, r.quality?.rmse],
        [`${r.task}_mae`, r.quality?.mae],
      ]),
    ),
  });
  const line = `demo: ${figures.map(([k, v]) => `${k}=${plain(v)}`).join(' ')}`;

  const stopAll = async () => {
    api.kill('SIGTERM');
    await pipeline.stop();
    await clickhouse.close();
  };
  if (options.exitWhenDone) {
    // Stopped first, so that nothing the stages log while stopping comes after the summary line.
    await stopAll();
    console.log(line);
    process.exit(0);
  }
  console.log(line);
  const shutdown = async () => {
    await stopAll();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

if (import.meta.main) await main(process.argv.slice(2));
