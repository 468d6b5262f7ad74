/**
 * Alerts shell: forecasts, champion changes and drift alerts → webhook deliveries.
 *
 * Subscriptions live on a compacted topic (the store; the admin API writes it). The stage reads that
 * topic whole at start, through a private group, before it handles any event, then follows it; each
 * record is also written to the ClickHouse view the API lists. Events come through the group
 * `<prefix>.alerts`. Per batch: plan the deliveries (pure step), run them (signed POSTs, retried with
 * backoff), log every attempt in ClickHouse, save each station's last forecast in Redis, then commit.
 * Delivery is at least once per crossing: a crash before the commit re-sends with the same idempotency key.
 */
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import type { Subscription } from '../../lib/domain/events.ts';
import type { DeliveryAttempt } from '../../lib/platform/clickhouse/queries/alerts.ts';
import { upsertSubscriptions } from '../../lib/platform/clickhouse/queries/alerts.ts';
import { runBatchConsumer, type ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq, type DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import { loadStates, saveStates } from '../shell/keyed-state.ts';
import {
  decodeBatch,
  groupIdOf,
  PARTITIONS_IN_FLIGHT,
  type RunningStage,
  type StageDeps,
} from '../shell/stage.ts';
import { parseAllowList, type Resolver } from './allow-list.ts';
import { deliver, type DeliveryDeps } from './deliver.ts';
import { deliveryRows, subscriptionViewOf } from './rows.ts';
import {
  applySubscriptionRecord,
  championAlerts,
  driftAlerts,
  forecastAlerts,
  type LastForecast,
  type PlannedDelivery,
} from './step.ts';

/** Deliveries of a batch in flight at once: a slow receiver must not hold up the others. */
const DELIVERIES_IN_FLIGHT = 8;

const systemResolver: Resolver = async (host) => lookup(host, { all: true, verbatim: true });

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function parseLast(text: string): LastForecast | null {
  try {
    const v = JSON.parse(text) as Partial<LastForecast>;
    return typeof v.date === 'string' && typeof v.probability === 'number'
      ? { date: v.date, probability: v.probability }
      : null;
  } catch {
    return null;
  }
}

export interface AlertsStageOptions {
  /** Name resolution for webhook hosts (tests may pin it). */
  resolve?: Resolver;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export async function startAlertsStage(
  deps: StageDeps,
  options: AlertsStageOptions = {},
): Promise<RunningStage> {
  const { config, codec, redis, metrics, clickhouse } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'alerts' });
  const topics = config.topics;
  const allowList = parseAllowList(config.alerts.allowedHosts);
  const subscriptions = new Map<string, Subscription>();
  const keyOf = (location: string) => ['alerts', 'last', location];

  // ---- the subscription store: read whole before any event, then followed
  const admin = deps.kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const p of await admin.fetchTopicOffsets(topics.subscriptions))
      ends.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  let loaded!: () => void;
  const storeLoaded = new Promise<void>((resolve) => (loaded = resolve));
  if (pending.size === 0) loaded();
  const store = await runBatchConsumer({
    kafka: deps.kafka,
    // Every instance reads the whole compacted topic: a private group, never shared.
    groupId: `${config.groupPrefix}.alerts-subscriptions-${randomUUID()}`,
    topics: [topics.subscriptions],
    fromBeginning: true,
    logger: log,
    async handleBatch(records, context) {
      const views = [];
      for (const record of records) {
        const id = record.key?.toString() ?? '';
        if (id === '') continue;
        let value: Subscription | null = null;
        if (record.value !== null) {
          try {
            value = await codec.decode('subscription', record.value);
          } catch (error) {
            metrics.inc('alerts_subscription_records', { outcome: 'undecodable' });
            log.error(
              { err: error, offset: record.offset },
              'subscription record cannot be decoded; skipped',
            );
            continue;
          }
        }
        applySubscriptionRecord(subscriptions, id, value);
        views.push(subscriptionViewOf(id, value, record.timestamp));
      }
      await upsertSubscriptions(clickhouse, views);
      const last = records[records.length - 1];
      const end = ends.get(context.partition) ?? 0n;
      if (
        last &&
        BigInt(last.offset) + 1n >= end &&
        pending.delete(context.partition) &&
        pending.size === 0
      ) {
        log.info({ subscriptions: subscriptions.size }, 'subscriptions loaded');
        loaded();
      }
    },
  });
  await Promise.race([storeLoaded, store.done]);

  const deliveryDeps = (heartbeat: () => Promise<void>): DeliveryDeps => ({
    allowList,
    resolve: options.resolve ?? systemResolver,
    timeoutMs: config.alerts.timeoutMs,
    maxAttempts: config.alerts.maxAttempts,
    backoffMs: config.alerts.backoffMs,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
    clock,
    heartbeat,
  });

  const plan = async (topic: string, records: ConsumedRecord[]) => {
    const subs = [...subscriptions.values()];
    const planned: PlannedDelivery[] = [];
    const dlq: DlqEntry[] = [];
    const changed = new Map<string, LastForecast | null>();
    if (topic === topics.predictions) {
      const decoded = await decodeBatch(codec, 'prediction', records);
      dlq.push(...decoded.dlq);
      // Forecast alerts are about rain (a probability against a threshold); other tasks' forecasts pass by.
      const batch = { decoded: decoded.decoded.filter((d) => (d.event.task ?? 'rain') === 'rain') };
      const locations = [...new Set(batch.decoded.map((d) => d.event.location))];
      const states = await loadStates(redis, keyOf, locations, parseLast);
      for (const { record, event } of batch.decoded) {
        const last = states.get(event.location) ?? null;
        const result = forecastAlerts(event, last, subs, record.timestamp);
        planned.push(...result.deliveries);
        if (result.last !== last) {
          states.set(event.location, result.last);
          changed.set(event.location, result.last);
        }
      }
      metrics.inc('alerts_events', { outcome: 'forecast' }, batch.decoded.length);
    } else if (topic === topics.modelEvents) {
      const batch = await decodeBatch(codec, 'modelEvent', records);
      dlq.push(...batch.dlq);
      for (const { record, event } of batch.decoded)
        planned.push(...championAlerts(event, subs, record.timestamp));
      metrics.inc('alerts_events', { outcome: 'model-event' }, batch.decoded.length);
    } else {
      const batch = await decodeBatch(codec, 'driftAlert', records);
      dlq.push(...batch.dlq);
      for (const { record, event } of batch.decoded)
        planned.push(...driftAlerts(event, subs, record.timestamp));
      metrics.inc('alerts_events', { outcome: 'drift-alert' }, batch.decoded.length);
    }
    return { planned, dlq, changed };
  };

  const running = await runBatchConsumer({
    kafka: deps.kafka,
    groupId: groupIdOf(config, 'alerts'),
    topics: [topics.predictions, topics.modelEvents, topics.driftAlerts],
    fromBeginning: true,
    logger: log,
    partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
    async handleBatch(records, context) {
      const startedAt = clock();
      const { planned, dlq, changed } = await plan(context.topic, records);
      const attempts: DeliveryAttempt[] = (
        await mapLimit(planned, DELIVERIES_IN_FLIGHT, (p) => deliver(p, deliveryDeps(context.heartbeat)))
      ).flat();
      await clickhouse.insertRows('alert_deliveries', deliveryRows(attempts));
      await sendToDlq(deps.producer, topics.observationsDlq, dlq);
      await saveStates(redis, keyOf, changed);
      metrics.batchDone('alerts', startedAt, records, clock());
      for (const a of attempts) metrics.inc('alert_delivery_attempts', { status: a.status });
      metrics.inc('alerts_deliveries', undefined, attempts.filter((a) => a.status === 'delivered').length);
      const failed = attempts.filter((a) => a.status === 'failed' || a.status === 'refused');
      if (failed.length > 0) {
        log.warn(
          {
            failed: failed.map((a) => ({ subscription: a.subscriptionId, status: a.status, error: a.error })),
          },
          'webhook deliveries gave up',
        );
      }
    },
  });

  return {
    name: 'alerts',
    async stop() {
      await Promise.allSettled([running.stop(), store.stop()]);
    },
    done: Promise.all([running.done, store.done]).then(() => undefined),
  };
}
