/**
 * Readiness: the API can serve only while Redis (forecasts, station history), ClickHouse (registry,
 * scores), Kafka (promotions it follows, commands and subscriptions it writes) and the schema registry
 * (the codec of those records) answer. Each check is bounded so a hung dependency makes /ready fail fast
 * instead of hanging the orchestrator's probe.
 */
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';
import type { Dependency, ReadyBody } from '../schemas.ts';

export interface ReadinessService {
  check(): Promise<ReadyBody>;
}

export type Probe = () => Promise<boolean>;

async function within(ms: number, probe: Probe | undefined): Promise<string> {
  if (probe === undefined) return 'not configured';
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

/** The registry answers a cheap, fixed request (the Confluent API's schema types). */
export function schemaRegistryProbe(url: string, timeoutMs: number): Probe {
  return async () => {
    const response = await fetch(`${url.replace(/\/$/, '')}/schemas/types`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.ok;
  };
}

export function createReadinessService(
  probes: { redis: RedisHandle; clickhouse: Pick<ClickHouse, 'ping'>; kafka?: Probe; schemaRegistry?: Probe },
  timeoutMs = 1000,
): ReadinessService {
  return {
    async check() {
      const [redis, clickhouse, kafka, schemaRegistry] = await Promise.all([
        within(timeoutMs, async () => (await probes.redis.client.ping()) === 'PONG'),
        within(timeoutMs, () => probes.clickhouse.ping()),
        within(timeoutMs, probes.kafka),
        within(timeoutMs, probes.schemaRegistry),
      ]);
      const checks = { redis, clickhouse, kafka, schemaRegistry };
      const down = (Object.keys(checks) as Dependency[]).filter((d) => checks[d] !== 'ok');
      return { status: down.length === 0 ? 'ready' : 'unavailable', down, checks };
    },
  };
}
