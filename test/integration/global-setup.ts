/**
 * vitest globalSetup of the integration project: finds a real stack and hands its endpoints to the
 * tests (`inject('endpoints')`). In order of preference:
 *   1. endpoints given in the environment (KAFKA_BROKERS set: CI or a developer's own services);
 *   2. a Docker engine answering `docker info`: throwaway testcontainers, removed afterwards;
 *   3. the project's own local stack, `bash ops/stack up` (idempotent; left running for the next run).
 * Then it waits until every service answers, so a test never fails on a service still starting.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../lib/platform/config.ts';
import { waitForEndpoints, type TestEndpoints } from '../support/integration.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: TestEndpoints;
  }
}

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

async function dockerAnswers(): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function endpointsFromEnv(source: TestEndpoints['source']): TestEndpoints {
  const config = loadConfig(process.env);
  return {
    source,
    kafkaBrokers: config.kafka.brokers,
    registryUrl: config.registry.url,
    clickhouseUrl: config.clickhouse.url,
    clickhouseUser: config.clickhouse.username,
    clickhousePassword: config.clickhouse.password,
    redisUrl: config.redis.url,
  };
}

async function startContainers(): Promise<{ endpoints: TestEndpoints; stop: () => Promise<void> }> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { ClickHouseContainer } = await import('@testcontainers/clickhouse');
  const { RedisContainer } = await import('@testcontainers/redis');
  const network = await new Network().start();
  // Confluent Platform 8.2 ships Apache Kafka 4.2 (KRaft only); @testcontainers/kafka drives Confluent's
  // images, and its start script for them is what gives the broker a host port and a network alias.
  const [kafka, clickhouse, redis] = await Promise.all([
    new KafkaContainer('confluentinc/cp-kafka:8.2.0')
      .withKraft()
      .withNetwork(network)
      .withNetworkAliases('kafka')
      .start(),
    new ClickHouseContainer('clickhouse/clickhouse-server:25.8').start(),
    new RedisContainer('redis:7-alpine').start(),
  ]);
  const registry = await new GenericContainer('confluentinc/cp-schema-registry:8.2.0')
    .withNetwork(network)
    .withEnvironment({
      SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
      SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
      SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:9092',
      SCHEMA_REGISTRY_SCHEMA_COMPATIBILITY_LEVEL: 'backward',
    })
    .withExposedPorts(8081)
    .withWaitStrategy(Wait.forHttp('/subjects', 8081).forStatusCode(200))
    .start();
  return {
    endpoints: {
      source: 'testcontainers',
      kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
      registryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8081)}`,
      clickhouseUrl: clickhouse.getHttpUrl(),
      clickhouseUser: clickhouse.getUsername(),
      clickhousePassword: clickhouse.getPassword(),
      redisUrl: redis.getConnectionUrl(),
    },
    stop: async () => {
      await Promise.all([registry.stop(), clickhouse.stop(), redis.stop()]);
      await kafka.stop();
      await network.stop();
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let stop: () => Promise<void> = async () => {};
  let endpoints: TestEndpoints;
  if (process.env.KAFKA_BROKERS) {
    endpoints = endpointsFromEnv('env');
  } else if (await dockerAnswers()) {
    ({ endpoints, stop } = await startContainers());
  } else {
    await run('bash', ['ops/stack', 'up'], { cwd: REPO, timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
    endpoints = endpointsFromEnv('local-stack');
  }
  await waitForEndpoints(endpoints, 120_000);
  console.log(
    `integration tests on the ${endpoints.source} stack: kafka ${endpoints.kafkaBrokers.join(',')}`,
  );
  project.provide('endpoints', endpoints);
  return stop;
}
