/**
 * One-shot, idempotent preparation of a deployment: topics, schemas, ClickHouse tables.
 * `npm run setup` (reads the environment like every process); tests call `runSetup` with their own config.
 */
import { fileURLToPath } from 'node:url';
import { type Config, loadConfig } from '../lib/platform/config.ts';
import { migrateDatabase, type MigrationReport } from '../lib/platform/clickhouse/migrate.ts';
import { ensureTopics, type EnsureTopicsReport } from '../lib/platform/kafka/admin.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { topicSpecs } from '../lib/platform/kafka/topics.ts';
import { createLogger, type Logger } from '../lib/platform/log.ts';
import { createSchemaRegistry, registerAll } from '../lib/platform/schema-registry.ts';
import type { EventKind } from '../lib/domain/events.ts';

export const SCHEMAS_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));
export const MIGRATIONS_DIR = fileURLToPath(new URL('../schemas/clickhouse/', import.meta.url));

export interface SetupReport {
  topics: EnsureTopicsReport;
  schemaIds: Readonly<Record<EventKind, number>>;
  migrations: MigrationReport;
}

export async function runSetup(config: Config, logger: Logger): Promise<SetupReport> {
  const kafka = createKafka(config, logger);
  const topics = await ensureTopics(kafka, topicSpecs(config), logger);
  const codec = await registerAll(createSchemaRegistry(config), config.topics, SCHEMAS_DIR);
  const migrations = await migrateDatabase(config.clickhouse, MIGRATIONS_DIR, logger);
  return { topics, schemaIds: codec.schemaIds, migrations };
}

if (import.meta.main) {
  const config = loadConfig();
  const logger = createLogger(config);
  const started = performance.now();
  try {
    const report = await runSetup(config, logger);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const line = (label: string, items: readonly (string | number)[]) =>
      `  ${label.padEnd(22)} ${items.length === 0 ? '-' : items.join(', ')}`;
    console.log(
      [
        `rainstream setup done in ${seconds}s`,
        line('topics created', report.topics.created),
        line('topics already there', report.topics.existing),
        line('topics reconfigured', report.topics.reconfigured),
        line(
          'schemas (kind=id)',
          Object.entries(report.schemaIds).map(([kind, id]) => `${kind}=${id}`),
        ),
        line('migrations applied', report.migrations.applied),
        line('migrations already in', report.migrations.alreadyApplied),
        `  ClickHouse database     ${config.clickhouse.database}`,
      ].join('\n'),
    );
  } catch (error) {
    logger.error({ err: error }, 'setup failed');
    process.exitCode = 1;
  }
}
