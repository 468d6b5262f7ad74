/**
 * Rebuilding a stage's memory from the log, for the stages outside the transactional runtime (drift): the
 * offsets a group committed, and a re-read of a topic up to them through a private group that is then
 * abandoned.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import { runBatchConsumer, type ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import type { Logger } from '../../lib/platform/log.ts';

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
