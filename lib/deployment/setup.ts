/**
 * One-shot, idempotent preparation of a deployment: topics, schemas, ClickHouse tables. `rainstream setup`
 * runs it from the environment; the demo, benchmarks and tests run it with their own config.
 */
import { fileURLToPath } from 'node:url';
import { migrateDatabase, type MigrationReport } from '../platform/clickhouse/migrate.ts';
import type { Config } from '../platform/config.ts';
import { ensureTopics, type EnsureTopicsReport } from '../platform/kafka/admin.ts';
import { createKafka } from '../platform/kafka/client.ts';
import { topicSpecs } from '../platform/kafka/topics.ts';
import type { Logger } from '../platform/log.ts';
import { createSchemaRegistry } from '../platform/schema-registry.ts';
import { registerEvents, type EventKind } from '../domain/events.ts';

/** The ClickHouse tables, as numbered migrations (schemas/clickhouse at the repository root). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../schemas/clickhouse/', import.meta.url));

export interface SetupReport {
  topics: EnsureTopicsReport;
  schemaIds: Readonly<Record<EventKind, number>>;
  migrations: MigrationReport;
}

export async function runSetup(config: Config, logger: Logger): Promise<SetupReport> {
  const kafka = createKafka(config, logger);
  const topics = await ensureTopics(kafka, topicSpecs(config), logger);
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  const migrations = await migrateDatabase(config.clickhouse, MIGRATIONS_DIR, logger);
  return { topics, schemaIds: codec.schemaIds, migrations };
}
