/**
 * Readiness: the API can serve only while Redis (forecasts, station history) and ClickHouse (registry,
 * scores) answer. Each check is bounded so a hung dependency makes /ready fail fast instead of hanging the
 * orchestrator's probe.
 */
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';
import type { Dependency, ReadyBody } from '../schemas.ts';

export interface ReadinessService {
  check(): Promise<ReadyBody>;
}

async function within(ms: number, probe: () => Promise<boolean>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${ms} ms`), ms);
  });
  try {
    return await Promise.race([
      probe().then(
        (ok) => (ok ? 'ok' : 'refused'),
        () => 'unreachable',
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createReadinessService(
  redis: RedisHandle,
  clickhouse: Pick<ClickHouse, 'ping'>,
  timeoutMs = 1000,
): ReadinessService {
  return {
    async check() {
      const [redisState, clickhouseState] = await Promise.all([
        within(timeoutMs, async () => (await redis.client.ping()) === 'PONG'),
        within(timeoutMs, () => clickhouse.ping()),
      ]);
      const checks = { redis: redisState, clickhouse: clickhouseState };
      const down = (Object.keys(checks) as Dependency[]).filter((d) => checks[d] !== 'ok');
      return { status: down.length === 0 ? 'ready' : 'unavailable', down, checks };
    },
  };
}
