/**
 * What every integration test stands on: endpoints of the real stack (from global-setup), and a
 * context per test file with its own topics, consumer groups, Redis keys, ClickHouse database and
 * registry subjects, all removed by cleanup(). Waiting is by polling a condition, never by sleeping.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import { migrateDatabase, dropDatabase } from '../../lib/platform/clickhouse/migrate.ts';
import { type Config, loadConfig } from '../../lib/platform/config.ts';
import { RainstreamError } from '../../lib/platform/errors.ts';
import { ensureTopics, type EnsureTopicsReport } from '../../lib/platform/kafka/admin.ts';
import { createKafka, type Kafka } from '../../lib/platform/kafka/client.ts';
import {
  type BatchConsumerOptions,
  type ConsumedRecord,
  runBatchConsumer,
  type RunningConsumer,
} from '../../lib/platform/kafka/consumer.ts';
import { topicSpecs } from '../../lib/platform/kafka/topics.ts';
import { createLogger, type Logger } from '../../lib/platform/log.ts';
import { createRedis, deleteByPrefix, type RedisHandle } from '../../lib/platform/redis.ts';
import { createSchemaRegistry } from '../../lib/platform/schema-registry.ts';
import { registerEvents } from '../../lib/domain/events.ts';
import type { EventCodec } from '../../lib/domain/events.ts';
import { MIGRATIONS_DIR } from '../../lib/deployment/setup.ts';

export interface TestEndpoints {
  source: 'env' | 'testcontainers' | 'local-stack';
  kafkaBrokers: string[];
  registryUrl: string;
  clickhouseUrl: string;
  clickhouseUser: string;
  clickhousePassword: string;
  redisUrl: string;
}

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Calls `check` until it returns something other than undefined, null or false, and returns that.
 * Errors thrown by `check` count as "not yet"; the last one is reported if time runs out.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' }: PollOptions = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      const last = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new RainstreamError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${last}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function endpointEnv(endpoints: TestEndpoints): Record<string, string> {
  return {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.registryUrl,
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    REDIS_URL: endpoints.redisUrl,
    // The suite runs on either Kafka client: KAFKA_CLIENT=platformatic npx vitest run --project integration
    ...(process.env.KAFKA_CLIENT ? { KAFKA_CLIENT: process.env.KAFKA_CLIENT } : {}),
  };
}

/** Polls each service until it answers a real request (not just an open port). */
export async function waitForEndpoints(endpoints: TestEndpoints, timeoutMs: number): Promise<void> {
  const config = loadConfig({ ...endpointEnv(endpoints), LOG_LEVEL: 'silent' });
  const logger = createLogger(config);
  const kafka = createKafka(config, logger);
  const clickhouse = createClickHouse(config.clickhouse, { database: 'default' });
  const redis = createRedis(config.redis);
  try {
    await Promise.all([
      pollUntil(
        async () => {
          const admin = kafka.admin();
          await admin.connect();
          try {
            return await admin.listTopics();
          } finally {
            await admin.disconnect();
          }
        },
        { timeoutMs, intervalMs: 500, what: `Kafka at ${endpoints.kafkaBrokers.join(',')}` },
      ),
      pollUntil(async () => (await fetch(`${endpoints.registryUrl}/subjects`)).ok, {
        timeoutMs,
        intervalMs: 500,
        what: `the schema registry at ${endpoints.registryUrl}`,
      }),
      pollUntil(() => clickhouse.ping(), {
        timeoutMs,
        intervalMs: 500,
        what: `ClickHouse at ${endpoints.clickhouseUrl}`,
      }),
      pollUntil(async () => (await redis.client.ping()) === 'PONG', {
        timeoutMs,
        intervalMs: 500,
        what: `Redis at ${endpoints.redisUrl}`,
      }),
    ]);
  } finally {
    await Promise.allSettled([clickhouse.close(), redis.close()]);
  }
}

export interface TestContext {
  readonly name: string;
  readonly id: string;
  /** Config of this test: endpoints of the stack, names of its own. */
  readonly config: Config;
  /** The environment that gives a child process this very config. */
  readonly env: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly kafka: Kafka;
  /** Connected to this test's database, created and migrated. */
  readonly clickhouse: ClickHouse;
  /** Keys under this test's prefix only. */
  readonly redis: RedisHandle;
  /** A consumer group name of this test (deleted at cleanup). */
  groupId(suffix?: string): string;
  /** Creates this test's topics (all of config.topics). */
  ensureTopics(): Promise<EnsureTopicsReport>;
  /** Registers the event schemas under this test's subjects. */
  registerSchemas(): Promise<EventCodec>;
  /** runBatchConsumer with this test's Kafka and logger; stopped at cleanup if still running. */
  runConsumer(options: Omit<BatchConsumerOptions, 'kafka' | 'logger'>): Promise<RunningConsumer>;
  /** Reads `count` records of a topic from its start, through the consumer shell. */
  consume(topic: string, count: number, options?: PollOptions): Promise<ConsumedRecord[]>;
  cleanup(): Promise<void>;
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '')
      .slice(0, 24) || 'test'
  );
}

/** A fresh, isolated context; call `cleanup()` in afterAll. */
export async function testContext(
  name: string,
  options: { endpoints?: TestEndpoints } = {},
): Promise<TestContext> {
  const endpoints = options.endpoints ?? inject('endpoints');
  const base = slug(name);
  const id = randomBytes(4).toString('hex');
  const env = {
    ...endpointEnv(endpoints),
    TOPIC_PREFIX: `t.${base}.${id}`,
    TOPIC_PARTITIONS: '3',
    CLICKHOUSE_DATABASE: `t_${base}_${id}`,
    REDIS_PREFIX: `t:${base}:${id}`,
    KAFKA_CLIENT_ID: `t-${base}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
  };
  const config = loadConfig(env);
  const logger = createLogger(config, undefined, { test: name });
  const kafka = createKafka(config, logger);
  await migrateDatabase(config.clickhouse, MIGRATIONS_DIR, logger);
  const clickhouse = createClickHouse(config.clickhouse);
  const redis = createRedis(config.redis);
  const groups = new Set<string>();
  const consumers: RunningConsumer[] = [];
  const topicPrefix = `t.${base}.${id}.`;

  const context: TestContext = {
    name,
    id,
    env,
    config,
    logger,
    kafka,
    clickhouse,
    redis,
    groupId(suffix = 'main') {
      const group = `t.${base}.${id}.${suffix}`;
      groups.add(group);
      return group;
    },
    ensureTopics: () => ensureTopics(kafka, topicSpecs(config), logger),
    registerSchemas: () => registerEvents(createSchemaRegistry(config), config.topics),
    async runConsumer(consumerOptions) {
      groups.add(consumerOptions.groupId);
      const running = await runBatchConsumer({ maxWaitTimeMs: 100, ...consumerOptions, kafka, logger });
      consumers.push(running);
      return running;
    },
    async consume(topic, count, pollOptions = {}) {
      const records: ConsumedRecord[] = [];
      const running = await context.runConsumer({
        groupId: context.groupId(`reader-${randomBytes(3).toString('hex')}`),
        topics: [topic],
        fromBeginning: true,
        handleBatch: async (batch) => {
          records.push(...batch);
        },
      });
      try {
        await pollUntil(() => records.length >= count, {
          what: `${count} records on ${topic}`,
          ...pollOptions,
        });
      } finally {
        await running.stop();
      }
      return records;
    },
    async cleanup() {
      await Promise.allSettled(consumers.map((c) => c.stop()));
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
        // Groups named by this test, and any a stage under test named after the topic prefix.
        for (const { groupId } of (await admin.listGroups()).groups) {
          if (groupId.startsWith(topicPrefix)) groups.add(groupId);
        }
        if (groups.size > 0) await admin.deleteGroups([...groups]).catch(() => undefined);
        if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
      await deleteSubjects(endpoints.registryUrl, topicPrefix);
      await dropDatabase(clickhouse, config.clickhouse.database);
      await clickhouse.close();
      await deleteByPrefix(redis.client, redis.prefix);
      await redis.close();
    },
  };
  return context;
}

/** Removes this test's subjects from the registry (soft, then permanent delete, as the API requires). */
async function deleteSubjects(registryUrl: string, topicPrefix: string): Promise<void> {
  const response = await fetch(`${registryUrl}/subjects`);
  if (!response.ok) return;
  const subjects = ((await response.json()) as string[]).filter((s) => s.startsWith(topicPrefix));
  for (const subject of subjects) {
    const url = `${registryUrl}/subjects/${encodeURIComponent(subject)}`;
    await fetch(url, { method: 'DELETE' }).catch(() => undefined);
    await fetch(`${url}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
  }
}
