/**
 * Model registry CLI: `rainstream models list | champion | promote <version> | rollback`.
 * Promotion and rollback go through the same path as the trainer's (registry row, then the event that
 * running predictors follow), so they take effect without a restart.
 */
import { z } from 'zod';
import { runCommand } from '../lib/platform/cli/command.ts';
import { loadConfig } from '../lib/platform/config.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createLogger } from '../lib/platform/log.ts';
import { aliasHistory, currentAlias, listModels, loadStoredModel } from '../lib/models/registry.ts';
import { promote } from '../lib/models/promotion.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { registerEvents } from '../lib/domain/events.ts';

const USAGE = `
usage: rainstream models list | champion | promote <version> | rollback

  list                 trained versions, newest first (* marks the champion), with validation ROC AUC and Brier
  champion             the champion alias history
  promote <version>    make <version> the champion (registry row, then the event running predictors follow)
  rollback             make the champion's previous version the champion again

The deployment is the one the environment names (TOPIC_PREFIX, CLICKHOUSE_DATABASE, ...).
`;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand(
    { name: 'models', usage: USAGE, options: z.strictObject({}), positionals: 2 },
    argv,
    (options) => run(options._),
  );
}

async function run(argv: readonly string[]): Promise<number> {
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
      const models = await listModels(clickhouse);
      const champion = await currentAlias(clickhouse, 'champion');
      console.log(
        'version                      family       status     train window            rows     auc     brier   train s',
      );
      for (const m of models) {
        const auc = Number(m.metrics.rocAuc ?? NaN);
        const brier = Number(m.metrics.brier ?? NaN);
        const mark = champion?.version === m.version ? '*' : ' ';
        console.log(
          `${mark}${m.version.padEnd(28)} ${m.family.padEnd(12)} ${m.status.padEnd(10)} ${m.trainStart}..${m.trainEnd} ${String(m.rows).padStart(7)}  ${auc.toFixed(4)}  ${brier.toFixed(4)}  ${m.trainSeconds.toFixed(2).padStart(6)}`,
        );
      }
      if (models.length === 0) console.log('(no models yet: the prior climatology baseline is serving)');
      return 0;
    }
    if (command === 'champion') {
      const history = await aliasHistory(clickhouse, 'champion');
      if (history.length === 0) console.log('champion: prior-climatology (no trained model promoted yet)');
      for (const h of history)
        console.log(`${h.changedAt}  ${h.version.padEnd(28)} from ${h.previousVersion || '-'}: ${h.reason}`);
      return 0;
    }
    if (command !== 'promote' && command !== 'rollback') {
      console.error(USAGE.trim());
      return 2;
    }
    const current = await currentAlias(clickhouse, 'champion');
    const target = command === 'promote' ? arg : current?.previousVersion;
    if (!target) {
      console.error(command === 'promote' ? USAGE.trim() : 'rollback: the champion has no previous version');
      return 2;
    }
    const stored = await loadStoredModel(clickhouse, target);
    if (!stored) {
      console.error(`${command}: no model version ${target} in the registry`);
      return 1;
    }
    const kafka = createKafka(config, logger, { clientId: 'rainstream-models-cli' });
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      const codec = await registerEvents(createSchemaRegistry(config), config.topics);
      await promote(
        { clickhouse, producer, codec, topics: config.topics },
        {
          alias: 'champion',
          version: target,
          family: stored.family,
          previousVersion: current?.version ?? null,
          reason: command === 'promote' ? 'promoted by hand (CLI)' : `rolled back from ${current?.version}`,
        },
      );
    } finally {
      await producer.disconnect();
    }
    console.log(`champion: ${current?.version ?? 'prior-climatology'} -> ${target}`);
    return 0;
  } finally {
    await clickhouse.close();
  }
}

if (import.meta.main) await main(process.argv.slice(2));
