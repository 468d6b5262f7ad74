/**
 * Keeps the champion of the moment loaded: reads the alias from the registry at start, then follows the
 * compacted model-events topic and loads each newly promoted version from ClickHouse. Predictors, the
 * drift stage and the API hold one, so a promotion takes effect without a restart.
 */
import { randomUUID } from 'node:crypto';
import { championFromStored, loadChampion, type Champion, type ChampionSource } from './champion.ts';
import type { ClickHouse } from '../platform/clickhouse/client.ts';
import type { Config } from '../platform/config.ts';
import type { Kafka } from '../platform/kafka/client.ts';
import { runBatchConsumer, type RunningConsumer } from '../platform/kafka/consumer.ts';
import type { Logger } from '../platform/log.ts';
import { loadStoredModel } from './registry.ts';
import type { EventCodec } from '../domain/events.ts';

export interface ChampionWatcherDeps {
  kafka: Kafka;
  codec: EventCodec;
  clickhouse: ClickHouse;
  topics: Config['topics'];
  logger: Logger;
  /** Called after each switch (e.g. the drift stage re-reads its reference). */
  onChange?: (champion: Champion) => void;
}

export interface ChampionWatcher extends ChampionSource {
  /** Resolves once the champion named by `version` is the current one. */
  waitFor(version: string, timeoutMs?: number): Promise<void>;
}

export async function startChampionWatcher(deps: ChampionWatcherDeps): Promise<ChampionWatcher> {
  const log = deps.logger.child({ component: 'champion-watcher' });
  let champion = await loadChampion(deps.clickhouse);
  log.info({ version: champion.version, family: champion.family }, 'champion loaded');
  const waiters = new Set<{ version: string; resolve: () => void }>();

  const switchTo = async (version: string) => {
    if (version === champion.version) return;
    const stored = await loadStoredModel(deps.clickhouse, version);
    if (!stored) {
      log.error(
        { version },
        'promotion event for a version the registry does not hold; keeping the champion',
      );
      return;
    }
    champion = championFromStored(stored);
    log.info({ version, family: champion.family }, 'champion switched');
    deps.onChange?.(champion);
    for (const w of waiters) {
      if (w.version === version) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };

  const running: RunningConsumer = await runBatchConsumer({
    kafka: deps.kafka,
    // Every watcher reads the whole compacted topic: a private group that is never shared.
    groupId: `rainstream-champion-watcher-${randomUUID()}`,
    topics: [deps.topics.modelEvents],
    fromBeginning: true,
    logger: log,
    async handleBatch(records) {
      // Only the newest champion event of a batch matters; older ones were superseded.
      let latest: string | null = null;
      for (const record of records) {
        if (!record.value) continue;
        const event = await deps.codec.decode('modelEvent', record.value);
        if (event.alias === 'champion') latest = event.version;
      }
      if (latest !== null) await switchTo(latest);
    },
  });

  return {
    current: () => champion,
    waitFor(version, timeoutMs = 60_000) {
      if (champion.version === version) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = { version, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter))
            reject(new Error(`champion ${version} not loaded within ${timeoutMs} ms`));
        }, timeoutMs).unref();
      });
    },
    close: () => running.stop(),
  };
}
