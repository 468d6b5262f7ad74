/**
 * `rainstream setup`: topics, schemas and ClickHouse tables of the deployment the environment names
 * (idempotent). The work is lib/deployment/setup.ts; this is its command line.
 */
import { z } from 'zod';
import { runSetup } from '../lib/deployment/setup.ts';
import { runCommand } from '../lib/platform/cli/command.ts';
import { loadConfig } from '../lib/platform/config.ts';
import { createLogger } from '../lib/platform/log.ts';

const USAGE = `
usage: rainstream setup

Creates what the deployment named by the environment needs, and changes nothing that is already there:
the Kafka topics (TOPIC_PREFIX, TOPIC_PARTITIONS), the Avro schemas in the registry (SCHEMA_REGISTRY_URL)
and the ClickHouse database and tables (CLICKHOUSE_URL, CLICKHOUSE_DATABASE).
`;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'setup', usage: USAGE, options: z.strictObject({}) }, argv, async () => {
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
      return 0;
    } catch (error) {
      logger.error({ err: error }, 'setup failed');
      return 1;
    }
  });
}

if (import.meta.main) await main(process.argv.slice(2));
