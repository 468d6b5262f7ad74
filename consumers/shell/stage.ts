/**
 * What every stage shell shares: the dependencies a stage gets, batch decoding with poison records routed
 * to the DLQ, station state loaded and saved in one Redis round trip each, and the rebuild of that state
 * from the log when Redis has lost it.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { Config } from '../../lib/platform/config.ts';
import { isRetriable } from '../../lib/platform/errors.ts';
import type { EventKind, EventCodec, EventTypes } from '../../lib/domain/events.ts';
import type { Kafka, Producer } from '../../lib/platform/kafka/client.ts';
import { runBatchConsumer, type ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import type { DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import type { Logger } from '../../lib/platform/log.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';
import type { ChampionWatcher } from '../../lib/models/champion-watcher.ts';
import type { Metrics } from '../../lib/platform/metrics.ts';

export interface StageDeps {
  config: Config;
  logger: Logger;
  kafka: Kafka;
  producer: Producer;
  codec: EventCodec;
  redis: RedisHandle;
  clickhouse: ClickHouse;
  metrics: Metrics;
  /** Needed by the stages that use the champion (predictor, drift, trainer). */
  champion?: ChampionWatcher;
  clock?: () => number;
}

export interface RunningStage {
  name: string;
  stop(): Promise<void>;
  /** Rejects when the stage gave up (a non-retriable failure); the process shell then exits. */
  done: Promise<void>;
}

export interface Decoded<K extends EventKind> {
  record: ConsumedRecord;
  event: EventTypes[K];
}

/**
 * Decodes a batch. A record that cannot be decoded is poison: it goes to the DLQ with the reason and the
 * batch goes on. An unreachable registry is not the record's fault: that error propagates and is retried.
 */
export async function decodeBatch<K extends EventKind>(
  codec: EventCodec,
  kind: K,
  records: readonly ConsumedRecord[],
): Promise<{ decoded: Decoded<K>[]; dlq: DlqEntry[] }> {
  const decoded: Decoded<K>[] = [];
  const dlq: DlqEntry[] = [];
  for (const record of records) {
    if (record.value === null) {
      dlq.push({ record, reason: 'record has no value', field: 'value', kind: 'decode' });
      continue;
    }
    try {
      decoded.push({ record, event: await codec.decode(kind, record.value) });
    } catch (error) {
      if (isRetriable(error)) throw error;
      dlq.push({ record, reason: error, field: 'value', kind: 'decode' });
    }
  }
  return { decoded, dlq };
}

/** MGET of the states of `ids`, parsed; a missing key gives null. */
export async function loadStates<S>(
  redis: RedisHandle,
  keyOf: (id: string) => readonly string[],
  ids: readonly string[],
  parse: (text: string, id: string) => S | null,
): Promise<Map<string, S | null>> {
  const states = new Map<string, S | null>();
  if (ids.length === 0) return states;
  const values = await redis.client.mget(...ids.map((id) => redis.key(...keyOf(id))));
  ids.forEach((id, i) => {
    const raw = values[i];
    states.set(id, raw === null || raw === undefined ? null : parse(raw, id));
  });
  return states;
}

/** Writes states (and any extra keys) in one MULTI, so a crash leaves either all or none of a batch. */
export async function saveStates<S>(
  redis: RedisHandle,
  keyOf: (id: string) => readonly string[],
  states: ReadonlyMap<string, S | null>,
  serialize: (state: S) => string = JSON.stringify,
  extra: ReadonlyArray<readonly [key: string, value: string]> = [],
): Promise<void> {
  if (states.size === 0 && extra.length === 0) return;
  const multi = redis.client.multi();
  for (const [id, state] of states) {
    const key = redis.key(...keyOf(id));
    if (state === null) multi.del(key);
    else multi.set(key, serialize(state));
  }
  for (const [key, value] of extra) multi.set(key, value);
  await multi.exec();
}

/**
 * Offsets the group has committed on `topic`, per partition (-1 where it has none): the position up to
 * which the stage's Redis state must reflect the log.
 */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Re-reads `topic` from the beginning up to (excluding) `until` per partition, handing the records to
 * `apply` (which rebuilds state and produces nothing), through a private group that is then abandoned.
 */
export async function replayLogUntil(
  kafka: Kafka,
  topic: string,
  until: ReadonlyMap<number, bigint>,
  apply: (records: ConsumedRecord[]) => Promise<void>,
  logger: Logger,
): Promise<number> {
  const remaining = new Set([...until].filter(([, offset]) => offset > 0n).map(([p]) => p));
  if (remaining.size === 0) return 0;
  let replayed = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const consumer = await runBatchConsumer({
    kafka,
    groupId: `rainstream-rebuild-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    logger,
    async handleBatch(records, context) {
      const end = until.get(context.partition) ?? 0n;
      const wanted = records.filter((r) => BigInt(r.offset) < end);
      if (wanted.length > 0) {
        await apply(wanted);
        replayed += wanted.length;
      }
      const last = records[records.length - 1];
      if (
        last &&
        BigInt(last.offset) + 1n >= end &&
        remaining.delete(context.partition) &&
        remaining.size === 0
      ) {
        finish();
      }
    },
  });
  await Promise.race([finished, consumer.done]);
  await consumer.stop();
  return replayed;
}

/** Partitions a keyed stage works on at once (stations of different partitions share no state). */
export const PARTITIONS_IN_FLIGHT = 3;

export function groupIdOf(config: Config, stage: string): string {
  return `${config.groupPrefix}.${stage}`;
}

export interface KeyedStageOptions {
  deps: StageDeps;
  name: string;
  inputTopic: string;
  /** Redis key that says the stage's state reflects the log (absent after a flush or on a new Redis). */
  builtKey: string;
  /** Handles a partition's records; `emit` false while rebuilding state (no outputs, state only). */
  handle(records: ConsumedRecord[], emit: boolean): Promise<void>;
  logger: Logger;
}

/**
 * Runs a stage whose state is per station in Redis: first, if Redis lost that state, rebuilds it by
 * re-reading the input log up to the group's committed offsets without emitting anything; then consumes,
 * several partitions at a time (stations of different partitions share no state).
 */
export async function runKeyedStage(o: KeyedStageOptions): Promise<RunningStage> {
  const { deps, logger } = o;
  const groupId = groupIdOf(deps.config, o.name);
  if ((await deps.redis.client.exists(o.builtKey)) === 0) {
    const until = await committedOffsets(deps.kafka, groupId, o.inputTopic);
    const started = Date.now();
    const replayed = await replayLogUntil(deps.kafka, o.inputTopic, until, (r) => o.handle(r, false), logger);
    if (replayed > 0) logger.warn({ replayed, ms: Date.now() - started }, 'state rebuilt from the log');
    else await deps.redis.client.set(o.builtKey, '1');
  }
  const running = await runBatchConsumer({
    kafka: deps.kafka,
    groupId,
    topics: [o.inputTopic],
    fromBeginning: true,
    logger,
    partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
    handleBatch: (records) => o.handle(records, true),
  });
  return { name: o.name, stop: running.stop, done: running.done };
}
