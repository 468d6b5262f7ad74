/**
 * Model registry CLI: `rainstream models list | champion | promote <version> | rollback [--task <task>]`.
 * Promotion and rollback go through the same path as the trainer's and the admin API's
 * (lib/models/promotion.ts: registry row, then the event that running predictors follow), so they take
 * effect without a restart. Each command is about one task's models and aliases (default rain).
 */
import { z } from 'zod';
import { runCommand } from '../lib/platform/cli/command.ts';
import { loadConfig } from '../lib/platform/config.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createLogger } from '../lib/platform/log.ts';
import { aliasHistory, currentAlias, listModels, type Alias } from '../lib/models/registry.ts';
import { promoteVersion, PromotionError, rollbackChampion, type Promotion } from '../lib/models/promotion.ts';
import { TASK_NAMES, TASKS } from '../lib/models/tasks.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { registerEvents } from '../lib/domain/events.ts';

const USAGE = `
usage: rainstream models list | champion | promote <version> | rollback [--task rain|max_temp]

  list                 the task's trained versions, newest first (* marks its champion), with their
                       validation ROC AUC and Brier (rain) or R² and RMSE (a regression task)
  champion             the task's champion alias history
  promote <version>    make <version>, a model of the task, its champion (registry row, then the event
                       running predictors follow)
  rollback             make the task's champion's previous version its champion again

  --task <task>        ${TASK_NAMES.join(' or ')}; default rain

The deployment is the one the environment names (TOPIC_PREFIX, CLICKHOUSE_DATABASE, ...).
`;

const optionsSchema = z.strictObject({ task: z.enum(TASK_NAMES).default('rain') });

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand(
    { name: 'models', usage: USAGE, options: optionsSchema, positionals: 2 },
    argv,
    (options) => run(options._, options.task),
  );
}

async function run(argv: readonly string[], taskName: keyof typeof TASKS): Promise<number> {
  const task = TASKS[taskName];
  const championAlias = task.championAlias as Alias;
  const [command, arg] = argv;
  if (command === undefined) {
    console.error(USAGE.trim());
    return 2;
  }
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const logger = createLogger(config);
  const clickhouse = createClickHouse(config.clickhouse);
  try {
    if (command === 'list') {
      const models = await listModels(clickhouse, 50, task.name);
      const champion = await currentAlias(clickhouse, championAlias);
      // The task's own figures: ROC AUC and Brier for rain, R² and RMSE for a regression task.
      const [first, second] = task.type === 'classification' ? ['rocAuc', 'brier'] : ['r2', 'rmse'];
      const heads = task.type === 'classification' ? ['auc', 'brier'] : ['r2', 'rmse'];
      console.log(
        `version                      family       status     train window            rows  ${heads[0]!.padStart(6)}  ${heads[1]!.padStart(6)}   train s`,
      );
      for (const m of models) {
        const a = Number(m.metrics[first!] ?? NaN);
        const b = Number(m.metrics[second!] ?? NaN);
        const mark = champion?.version === m.version ? '*' : ' ';
        console.log(
          `${mark}${m.version.padEnd(28)} ${m.family.padEnd(12)} ${m.status.padEnd(10)} ${m.trainStart}..${m.trainEnd} ${String(m.rows).padStart(7)}  ${a.toFixed(4)}  ${b.toFixed(4)}  ${m.trainSeconds.toFixed(2).padStart(6)}`,
        );
      }
      if (models.length === 0)
        console.log(`(no ${task.name} models yet: the prior baseline ${task.priorVersion} is serving)`);
      return 0;
    }
    if (command === 'champion') {
      const history = await aliasHistory(clickhouse, championAlias);
      if (history.length === 0)
        console.log(`${championAlias}: ${task.priorVersion} (no trained model promoted yet)`);
      for (const h of history)
        console.log(`${h.changedAt}  ${h.version.padEnd(28)} from ${h.previousVersion || '-'}: ${h.reason}`);
      return 0;
    }
    if ((command !== 'promote' && command !== 'rollback') || (command === 'promote' && !arg)) {
      console.error(USAGE.trim());
      return 2;
    }
    const kafka = createKafka(config, logger, { clientId: 'rainstream-models-cli' });
    const producer = createProducer(kafka);
    await producer.connect();
    let done: Promotion;
    try {
      const codec = await registerEvents(createSchemaRegistry(config), config.topics);
      const deps = { clickhouse, producer, codec, topics: config.topics };
      done =
        command === 'promote'
          ? await promoteVersion(deps, {
              alias: championAlias,
              version: arg!,
              reason: 'promoted by hand (CLI)',
            })
          : await rollbackChampion(deps, { task, reason: 'rolled back by hand (CLI)' });
    } catch (error) {
      if (!(error instanceof PromotionError)) throw error;
      console.error(`${command}: ${error.message}`);
      return error.code === 'MODEL_NOT_FOUND' ? 1 : 2;
    } finally {
      await producer.disconnect();
    }
    console.log(`${championAlias}: ${done.previousVersion ?? task.priorVersion} -> ${done.version}`);
    return 0;
  } finally {
    await clickhouse.close();
  }
}

if (import.meta.main) await main(process.argv.slice(2));
