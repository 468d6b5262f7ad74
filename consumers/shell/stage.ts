/**
 * What every stage shell shares: the dependencies a stage gets, what a running stage offers its host, and
 * batch decoding with poison records routed to the DLQ. The Kafka-to-Kafka stages run on the stage
 * runtime (./runtime.ts), which adds per-record isolation, transactions and state in Redis.
 */
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { Config } from '../../lib/platform/config.ts';
import { isRetriable } from '../../lib/platform/errors.ts';
import type { EventKind, EventCodec, EventTypes } from '../../lib/domain/events.ts';
import type { Kafka, Producer } from '../../lib/platform/kafka/client.ts';
import type { ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import type { DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import type { Logger } from '../../lib/platform/log.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';
import type { ChampionWatcher } from '../../lib/models/champion-watcher.ts';
import { tasksOf, type TaskDeclaration } from '../../lib/models/tasks.ts';
import type { Metrics } from '../../lib/platform/metrics.ts';
import type { Health } from '../../lib/platform/health.ts';

export interface StageDeps {
  config: Config;
  logger: Logger;
  kafka: Kafka;
  producer: Producer;
  codec: EventCodec;
  redis: RedisHandle;
  clickhouse: ClickHouse;
  metrics: Metrics;
  /** Where components report whether they work or what they wait for (the host serves it as /ready). */
  health?: Health;
  /** Rain's champion: needed by the stages that use the champion (predictor, drift, trainer). */
  champion?: ChampionWatcher;
  /**
   * The champion of each configured task (config.pipeline.tasks), rain's among them: the predictor
   * predicts and the trainer trains each. Absent: rain alone (`champion`).
   */
  champions?: ReadonlyMap<string, ChampionWatcher>;
  clock?: () => number;
}

export interface RunningStage {
  name: string;
  stop(): Promise<void>;
  /** Resolves once the stage stopped. A stage never gives up by itself: it waits outages out. */
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

/** Partitions a keyed stage works on at once (stations of different partitions share no state). */
export const PARTITIONS_IN_FLIGHT = 3;

export function groupIdOf(config: Config, stage: string): string {
  return `${config.groupPrefix}.${stage}`;
}

/** The champion source of each configured task, rain's first; rain alone when the host gave no others. */
export function championsOf(deps: StageDeps): { task: TaskDeclaration; champion: ChampionWatcher }[] {
  const out: { task: TaskDeclaration; champion: ChampionWatcher }[] = [];
  for (const task of tasksOf(deps.config.pipeline.tasks ?? ['rain'])) {
    const champion = deps.champions?.get(task.name) ?? (task.name === 'rain' ? deps.champion : undefined);
    if (champion) out.push({ task, champion });
  }
  return out;
}
