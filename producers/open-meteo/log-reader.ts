/**
 * Reading a bounded stretch of a topic, committed records only: the ingestion state to its end at start,
 * the raw answers for `ingest remap`, the earlier version of a conflicting day. A throw-away consumer
 * group that commits nothing, so nothing of it outlives the read.
 *
 * The end of a partition written by transactions is a commit marker, which no consumer ever sees as a
 * record: a partition counts as read once a fetch has gone past the last offset wanted, whatever that
 * offset holds (kafkajs reports how far each fetch went, control records included).
 */
import { randomUUID } from 'node:crypto';
import { RainstreamError } from '../../lib/platform/errors.ts';
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import { toConsumedRecords, type ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { highWatermarks } from '../../lib/platform/kafka/offsets.ts';
import type { Logger } from '../../lib/platform/log.ts';

/** Offsets `from` (inclusive) to `until` (exclusive) of one partition. */
export interface OffsetRange {
  from: bigint;
  until: bigint;
}

export interface ReadOptions {
  /** Gives up (retriable KAFKA error) when the read has not reached its ends by then. */
  timeoutMs?: number;
}

const DEFAULT_READ_TIMEOUT_MS = 120_000;

/**
 * Each partition of `topic` now: its first offset still held and its high watermark (not the last stable
 * offset: see highWatermarks).
 */
export async function partitionEnds(kafka: Kafka, topic: string): Promise<Map<number, OffsetRange>> {
  const ends = await highWatermarks(kafka, topic);
  return new Map([...ends].map(([p, { low, high }]) => [p, { from: low, until: high }]));
}

/**
 * Hands the committed records of each range to `handle`, in offset order per partition (partitions
 * interleave). Records outside the ranges are never handed over. Resolves once every range is read.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: ReadonlyMap<number, OffsetRange>,
  handle: (records: ConsumedRecord[]) => void | Promise<void>,
  logger: Logger,
  options: ReadOptions = {},
): Promise<void> {
  const ends = await partitionEnds(kafka, topic);
  // A range past the log end would never be reached: it is read up to the end.
  const pending = new Map<number, OffsetRange>();
  for (const [partition, range] of ranges) {
    const end = ends.get(partition)?.until ?? 0n;
    const until = range.until < end ? range.until : end;
    if (until > range.from) pending.set(partition, { from: range.from, until });
  }
  if (pending.size === 0) return;
  const wanted = new Map(pending);
  const consumer = kafka.consumer({
    // Named after the topic, so a deployment's clean-up (which removes its prefix's groups) finds it.
    groupId: `${topic}.reader-${randomUUID()}`,
    maxWaitTimeInMs: 100,
    retry: { retries: 5 },
  });
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const { topic: batchTopic, partition, lastOffset } = event.payload;
    const range = pending.get(partition);
    if (batchTopic !== topic || !range || BigInt(lastOffset) + 1n < range.until) return;
    pending.delete(partition);
    if (pending.size === 0) settle.resolve();
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) settle.reject(event.payload.error);
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const timer = setTimeout(
    () =>
      settle.reject(
        new RainstreamError('KAFKA', `reading ${topic} did not reach its end within ${timeoutMs} ms`, {
          details: { topic, pending: [...pending.keys()] },
        }),
      ),
    timeoutMs,
  );
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = wanted.get(batch.partition);
        if (!range) return;
        const records = toConsumedRecords(batch).filter((r) => {
          const offset = BigInt(r.offset);
          return offset >= range.from && offset < range.until;
        });
        if (records.length > 0) await handle(records);
      },
    });
    const unwanted = [...ends.keys()].filter((p) => !wanted.has(p));
    if (unwanted.length > 0) consumer.pause([{ topic, partitions: unwanted }]);
    for (const [partition, range] of wanted) {
      if (range.from > 0n) consumer.seek({ topic, partition, offset: String(range.from) });
    }
    await finished;
  } catch (error) {
    logger.warn({ topic, err: error }, 'reading a topic failed');
    throw error instanceof RainstreamError
      ? error
      : new RainstreamError('KAFKA', `reading ${topic}: ${(error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/** Every committed record of `topic` up to its end as of the call. */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  handle: (records: ConsumedRecord[]) => void | Promise<void>,
  logger: Logger,
  options: ReadOptions = {},
): Promise<void> {
  await readRanges(kafka, topic, await partitionEnds(kafka, topic), handle, logger, options);
}

/** The committed records at `offsets` of one partition (fewer when some are not there). */
export async function readOffsets(
  kafka: Kafka,
  topic: string,
  partition: number,
  offsets: readonly bigint[],
  logger: Logger,
  options: ReadOptions = {},
): Promise<Map<bigint, ConsumedRecord>> {
  const found = new Map<bigint, ConsumedRecord>();
  if (offsets.length === 0) return found;
  const wanted = new Set(offsets);
  let from = offsets[0]!;
  let last = offsets[0]!;
  for (const o of offsets) {
    if (o < from) from = o;
    if (o > last) last = o;
  }
  await readRanges(
    kafka,
    topic,
    new Map([[partition, { from, until: last + 1n }]]),
    (records) => {
      for (const r of records) if (wanted.has(BigInt(r.offset))) found.set(BigInt(r.offset), r);
    },
    logger,
    options,
  );
  return found;
}
