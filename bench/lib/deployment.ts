/**
 * A throw-away deployment for a pipeline benchmark: the local stack up, then its own topics, consumer
 * groups, Redis prefix and ClickHouse database (set up here, removed by `removeDeployment`).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../lib/platform/config.ts';
import { createLogger, type Logger } from '../../lib/platform/log.ts';
import { progress } from './report.ts';
import { runSetup } from '../../lib/deployment/setup.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function benchDeployment(
  name: string,
  env: Record<string, string>,
): Promise<{ config: Config; logger: Logger; id: string; env: Record<string, string> }> {
  const stack = spawnSync('bash', ['ops/stack', 'up'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (stack.status !== 0) throw new Error('ops/stack up failed');
  const id = randomBytes(3).toString('hex');
  // What a process of this deployment needs on top of the environment (a child it starts, too).
  const deploymentEnv: Record<string, string> = {
    TOPIC_PREFIX: `bench-${name}-${id}`,
    REDIS_PREFIX: `bench-${name}-${id}`,
    CLICKHOUSE_DATABASE: `bench_${name}_${id}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...env,
  };
  const config = loadConfig({ ...process.env, ...deploymentEnv });
  const logger = createLogger(config);
  progress(`deployment bench-${name}-${id}: setup`);
  await runSetup(config, logger);
  return { config, logger, id, env: deploymentEnv };
}
