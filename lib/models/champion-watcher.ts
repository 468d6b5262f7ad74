/**
 * Keeps the champion of the moment loaded: reads the alias from the registry at start, then follows the
 * compacted model-events topic and loads each newly promoted version from ClickHouse. Predictors, the
 * drift stage and the API hold one, so a promotion takes effect without a restart.
 *
 * It never stops serving: the consumer under it restarts after a failure; a registry (ClickHouse) that is
 * away is waited out while the last good champion serves; an event that does not decode goes to the DLQ
 * (when a producer is given); a promoted version that cannot be loaded is refused. In every case where
 * the champion served is not the one the topic names, `status()` says so, the log says so, and the
 * health reporter is told (not ready), so a stale champion is never silent.
 */
import { randomUUID } from 'node:crypto';
import { championFromStored, loadChampion, type Champion, type ChampionSource } from './champion.ts';
import type { ClickHouse } from '../platform/clickhouse/client.ts';
import type { Config } from '../platform/config.ts';
import { describeError, isRetriable, RainstreamError } from '../platform/errors.ts';
import type { HealthReporter } from '../platform/health.ts';
import type { Kafka, Producer } from '../platform/kafka/client.ts';
import { runBatchConsumer, type ConsumedRecord, type RunningConsumer } from '../platform/kafka/consumer.ts';
import { sendToDlq } from '../platform/kafka/dlq.ts';
import type { Logger } from '../platform/log.ts';
import type { Metrics } from '../platform/metrics.ts';
import { retryForever } from '../platform/retry.ts';
import { loadStoredModel } from './registry.ts';
import type { EventCodec } from '../domain/events.ts';
import { TASKS, type TaskDeclaration } from './tasks.ts';

export interface ChampionWatcherDeps {
  /** The task whose champion alias it follows (default: rain). */
  task?: TaskDeclaration;
  kafka: Kafka;
  codec: EventCodec;
  clickhouse: ClickHouse;
  topics: Config['topics'];
  logger: Logger;
  /** Called after each switch (e.g. the drift stage re-reads its reference). */
  onChange?: (champion: Champion) => void;
  /** Where an undecodable model event goes (the DLQ topic); without it, it is logged and counted only. */
  producer?: Producer;
  metrics?: Metrics;
  health?: HealthReporter;
  /** Stops the initial load's wait (the registry may be away at start). */
  signal?: AbortSignal;
}

export interface ChampionStatus {
  /** The version serving now. */
  serving: string;
  /** The version the model-events topic names, when it is not the one serving (refused or not loaded yet). */
  named: string | null;
  /** Why the named version is not serving. */
  reason: string | null;
}

export interface ChampionWatcher extends ChampionSource {
  /** Resolves once the champion named by `version` is the current one. */
  waitFor(version: string, timeoutMs?: number): Promise<void>;
  status(): ChampionStatus;
}

/**
 * What the newest champion event of a batch says, records that do not decode set aside. Pure (but for the
 * decoder), so the choice is tested without Kafka.
 */
export async function latestChampionEvent(
  records: readonly ConsumedRecord[],
  decode: (value: Buffer) => Promise<{ alias: string; version: string }>,
  alias = 'champion',
): Promise<{ latest: string | null; undecodable: { record: ConsumedRecord; error: unknown }[] }> {
  let latest: string | null = null;
  const undecodable: { record: ConsumedRecord; error: unknown }[] = [];
  for (const record of records) {
    // A compacted topic's tombstone: an alias removed, nothing to switch to.
    if (record.value === null) continue;
    try {
      const event = await decode(record.value);
      if (event.alias === alias) latest = event.version;
    } catch (error) {
      if (isRetriable(error)) throw error;
      undecodable.push({ record, error });
    }
  }
  return { latest, undecodable };
}

export async function startChampionWatcher(deps: ChampionWatcherDeps): Promise<ChampionWatcher> {
  const task = deps.task ?? TASKS.rain;
  const log = deps.logger.child({ component: 'champion-watcher', task: task.name });
  const health = deps.health ?? (() => undefined);
  let champion = await retryForever(() => loadChampion(deps.clickhouse, task), {
    signal: deps.signal,
    shouldRetry: isRetriable,
    onRetry: ({ error, attempt }) => {
      if (attempt === 1 || attempt % 10 === 0)
        log.warn({ err: error, attempt }, 'registry unreachable; waiting to load the champion');
      health(false, `loading the champion: ${describeError(error)}`);
    },
  });
  log.info({ version: champion.version, family: champion.family }, 'champion loaded');
  health(true);
  let status: ChampionStatus = { serving: champion.version, named: null, reason: null };
  const waiters = new Set<{ version: string; resolve: () => void }>();

  const refuse = (version: string, reason: string) => {
    status = { serving: champion.version, named: version, reason };
    deps.metrics?.inc('champion_refused');
    health(false, `serving ${champion.version}, not ${version}: ${reason}`);
    log.error(
      { version, serving: champion.version, reason },
      'promoted version refused; the last good champion serves',
    );
  };

  const switchTo = async (version: string) => {
    if (version === champion.version) {
      status = { serving: version, named: null, reason: null };
      health(true);
      return;
    }
    // ClickHouse away: thrown (retriable), the consumer waits and tries again; the old champion serves.
    const stored = await loadStoredModel(deps.clickhouse, version);
    if (!stored) return refuse(version, 'the registry does not hold this version');
    let next: Champion;
    try {
      next = championFromStored(stored, task);
    } catch (error) {
      return refuse(version, describeError(error));
    }
    champion = next;
    status = { serving: version, named: null, reason: null };
    health(true);
    deps.metrics?.inc('champion_switches');
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
    health,
    async handleBatch(records) {
      // Only the newest champion event of a batch matters; older ones were superseded.
      const { latest, undecodable } = await latestChampionEvent(
        records,
        (value) => deps.codec.decode('modelEvent', value),
        task.championAlias,
      );
      if (undecodable.length > 0) {
        deps.metrics?.inc('champion_events_undecodable', undefined, undecodable.length);
        log.error(
          { offsets: undecodable.map((u) => u.record.offset), err: undecodable[0]!.error },
          'undecodable model events; the champion stays',
        );
        if (deps.producer) {
          await sendToDlq(
            deps.producer,
            deps.topics.observationsDlq,
            undecodable.map((u) => ({ record: u.record, reason: u.error })),
          );
        }
      }
      if (latest !== null) await switchTo(latest);
    },
  });

  return {
    current: () => champion,
    status: () => status,
    waitFor(version, timeoutMs = 60_000) {
      if (champion.version === version) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = { version, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter))
            reject(new RainstreamError('TIMEOUT', `champion ${version} not loaded within ${timeoutMs} ms`));
        }, timeoutMs).unref();
      });
    },
    close: () => running.stop(),
  };
}
