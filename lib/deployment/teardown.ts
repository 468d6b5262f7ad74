/** Removing a throw-away deployment (benchmarks, tests): its topics, consumer groups, Redis keys, database. */
import { createClickHouse } from '../platform/clickhouse/client.ts';
import { dropDatabase } from '../platform/clickhouse/migrate.ts';
import type { Config } from '../platform/config.ts';
import { createKafka } from '../platform/kafka/client.ts';
import type { Logger } from '../platform/log.ts';
import { createRedis, deleteByPrefix } from '../platform/redis.ts';

/**
 * Never called on the default deployment.
 */
export async function removeDeployment(config: Config, logger: Logger): Promise<void> {
  if (config.groupPrefix === 'rainstream') throw new Error('refusing to remove the default deployment');
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    const ours = groups.filter((g) => g.startsWith(`${config.groupPrefix}.`));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
    const topics = Object.values(config.topics);
    const present = new Set(await admin.listTopics());
    const existing = topics.filter((t) => present.has(t));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing });
  } finally {
    await admin.disconnect();
  }
  const redis = createRedis(config.redis);
  try {
    await deleteByPrefix(redis.client, redis.prefix);
  } finally {
    await redis.close();
  }
  const clickhouse = createClickHouse(config.clickhouse, { database: 'default' });
  try {
    await dropDatabase(clickhouse, config.clickhouse.database);
  } finally {
    await clickhouse.close();
  }
}
