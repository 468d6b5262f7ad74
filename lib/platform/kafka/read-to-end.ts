/**
 * Reads a topic from its start to the end offsets it has when the read starts, committed records only (as
 * every consumer of the pipeline reads), through a private group that never commits. With transactions
 * the end offset is not a record count: commit markers take offsets too, and aborted records are skipped;
 * so the end is reached when the consumer's position has passed each partition's end, whatever it saw.
 *
 * Each record is delivered once even when kafkajs restarts the consumer underneath (a coordinator still
 * loading after a broker restart): the group never commits, so a restarted consumer begins again at the
 * log start, and what it had delivered already is skipped by offset.
 */
import { randomUUID } from 'node:crypto';
import { RainstreamError } from '../errors.ts';
import type { Kafka } from './client.ts';
import { toConsumedRecords, type ConsumedRecord } from './consumer.ts';

export interface ReadToEndOptions {
  /** Only these partitions (default: all). */
  partitions?: readonly number[];
  /** Start at these offsets instead of the log start (per partition). */
  from?: ReadonlyMap<number, bigint>;
  /** Stop at these offsets (exclusive) instead of the end offsets at the start of the read. */
  until?: ReadonlyMap<number, bigint>;
  /** Called with each batch as it comes (records in offset order per partition); else records are returned. */
  onBatch?: (records: ConsumedRecord[]) => void | Promise<void>;
  timeoutMs?: number;
}

export async function readToEnd(
  kafka: Kafka,
  topic: string,
  options: ReadToEndOptions = {},
): Promise<ConsumedRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(
      offsets
        .filter((p) => options.partitions === undefined || options.partitions.includes(p.partition))
        .map((p) => {
          const start = options.from?.get(p.partition) ?? BigInt(p.low);
          const end = options.until?.get(p.partition) ?? BigInt(p.high);
          return [p.partition, start >= end ? -1n : end] as const;
        }),
    );
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([, end]) => end > 0n).map(([p]) => p));
  const records: ConsumedRecord[] = [];
  if (pending.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `rainstream-read-${randomUUID()}`, maxWaitTimeInMs: 200 });
  /** Per partition, the first offset not delivered yet. */
  const next = new Map<number, bigint>([...ends.keys()].map((p) => [p, options.from?.get(p) ?? 0n]));
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const end = ends.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end && pending.delete(payload.partition)) {
      if (pending.size === 0) finish();
    }
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, pause }) => {
        const end = ends.get(batch.partition);
        if (end === undefined || end < 0n) {
          pause();
          return;
        }
        const from = next.get(batch.partition)!;
        const wanted = toConsumedRecords(batch).filter((r) => {
          const offset = BigInt(r.offset);
          return offset >= from && offset < end;
        });
        if (wanted.length === 0) return;
        if (options.onBatch) await options.onBatch(wanted);
        else records.push(...wanted);
        next.set(batch.partition, BigInt(wanted[wanted.length - 1]!.offset) + 1n);
      },
    });
    for (const [partition, start] of options.from ?? []) {
      if (!ends.has(partition)) continue;
      try {
        consumer.seek({ topic, partition, offset: String(start) });
      } catch {
        // The consumer is restarting (kafkajs refuses a seek until it has joined again): it then reads
        // from the log start, and the offsets before `start` are skipped in eachBatch instead.
      }
    }
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new RainstreamError('TIMEOUT', `reading ${topic} to its end took over ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return records;
}
