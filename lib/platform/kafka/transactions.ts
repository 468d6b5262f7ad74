/**
 * Exactly-once between Kafka topics: a stage's outputs for a batch of one input partition, and that
 * partition's consumed offset, are committed in one Kafka transaction; consumers read committed records
 * only (kafkajs's default isolation), so a batch that failed half-way, or whose process died, never shows.
 *
 * kafkajs's transactional producer runs one transaction at a time, and it knows nothing of consumer group
 * generations (no KIP-447), so the design is Kafka Streams' first one: one producer per input partition,
 * with a transactional id derived from the group and the partition. Whoever owns the partition now
 * initialises that id, which aborts whatever a previous owner left open and fences it: a zombie (a member
 * that lost the partition but still runs) can no longer commit. Partitions in flight at once each have
 * their own producer, so they never wait on each other's transaction.
 */
import { causeChain, describeError, RainstreamError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { Partitioners, type Kafka, type Message, type Producer } from './client.ts';
import { chunkMessages } from './producer.ts';

/**
 * How long the broker lets a transaction stay open before aborting it. Ours last one batch (milliseconds);
 * a process killed mid-transaction blocks read-committed readers of the partitions it wrote to until the
 * next owner initialises the id, or at the latest this long.
 */
export const TRANSACTION_TIMEOUT_MS = 20_000;

export function transactionalIdOf(groupId: string, topic: string, partition: number): string {
  return `${groupId}.tx.${topic}.${partition}`;
}

export interface OutputBatch {
  topic: string;
  messages: readonly Message[];
}

export interface ConsumedPosition {
  groupId: string;
  topic: string;
  partition: number;
  /** The next offset to consume: last processed offset + 1. */
  offset: string;
}

/** Error types with which the broker says another producer now holds this transactional id. */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

export function isFencedError(error: unknown): boolean {
  return causeChain(error).some((e) => FENCED_TYPES.has(String((e as { type?: unknown }).type)));
}

/**
 * The typed error of a failed transaction. FENCED: another owner took the partition. TRANSACTION
 * (retriable): anything else; `committing` says the failure came at commit, when the outcome is unknown
 * (the broker may have committed): the caller must then find out from the group's committed offset
 * before trying again, never simply redo.
 */
export function transactionError(error: unknown, what: string, committing: boolean): RainstreamError {
  if (isFencedError(error)) {
    return new RainstreamError('FENCED', `${what}: fenced by a newer owner: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (error instanceof RainstreamError && !error.retriable) return error;
  return new RainstreamError('TRANSACTION', `${what}: ${describeError(error)}`, {
    cause: error,
    details: { committing },
  });
}

/**
 * One open transaction: outputs are sent into it (each topic's messages in bounded chunks, in order), the
 * consumed position is added to it, and it ends with a commit, or an abort. Every failure comes out typed
 * (see transactionError); after one the transaction is aborted when the broker can be told.
 *
 * `sendOffsets` may come before the work the commit waits for is done (a stage's ClickHouse insert): the
 * offsets are part of the transaction and count only if it commits, and sending them early takes their
 * two round trips (AddOffsetsToTxn, TxnOffsetCommit) off the batch's critical path, leaving EndTxn.
 */
export interface OpenTransaction {
  send(outputs: readonly OutputBatch[]): Promise<void>;
  /** Adds the consumed position to the transaction (visible only once it commits). */
  sendOffsets(position: ConsumedPosition): Promise<void>;
  /** Commits; with `position`, adds it first (for a caller that did not call sendOffsets). */
  commit(position?: ConsumedPosition): Promise<void>;
  /** Resolves false when the abort could not be told to the broker (the producer is then spent). */
  abort(): Promise<boolean>;
}

export async function openTransaction(producer: Producer, what: string): Promise<OpenTransaction> {
  const transaction = await producer.transaction().catch((error: unknown) => {
    throw transactionError(error, what, false);
  });
  const fail = async (error: unknown, committing: boolean): Promise<never> => {
    if (transaction.isActive()) await transaction.abort().catch(() => undefined);
    throw transactionError(error, what, committing);
  };
  const addOffsets = (position: ConsumedPosition) =>
    transaction.sendOffsets({
      consumerGroupId: position.groupId,
      topics: [
        {
          topic: position.topic,
          partitions: [{ partition: position.partition, offset: position.offset }],
        },
      ],
    });
  return {
    async send(outputs) {
      try {
        for (const output of outputs) {
          for (const chunk of chunkMessages(output.messages)) {
            await transaction.send({ topic: output.topic, messages: chunk });
          }
        }
      } catch (error) {
        await fail(error, false);
      }
    },
    async sendOffsets(position) {
      try {
        await addOffsets(position);
      } catch (error) {
        await fail(error, false);
      }
    },
    async commit(position) {
      let committing = false;
      try {
        if (position) await addOffsets(position);
        committing = true;
        await transaction.commit();
      } catch (error) {
        await fail(error, committing);
      }
    },
    async abort() {
      if (!transaction.isActive()) return true;
      try {
        await transaction.abort();
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Sends `outputs` and the consumed position in one transaction, and commits. */
export async function commitTransaction(
  producer: Producer,
  outputs: readonly OutputBatch[],
  position: ConsumedPosition,
): Promise<void> {
  const transaction = await openTransaction(
    producer,
    `transaction for ${position.topic}[${position.partition}]`,
  );
  await transaction.send(outputs);
  await transaction.commit(position);
}

export interface TransactionalProducersOptions {
  kafka: Kafka;
  groupId: string;
  /** The input topic whose partitions the producers stand for. */
  topic: string;
  logger: Logger;
}

/**
 * One transactional producer per input partition, created on first use and initialised (fencing any
 * previous owner of the partition) before anything is read for it. A producer that failed is discarded:
 * the next one initialises the same id, which also settles a transaction the failed one left open.
 */
export class TransactionalProducers {
  readonly #options: TransactionalProducersOptions;
  readonly #producers = new Map<number, Promise<Producer>>();

  constructor(options: TransactionalProducersOptions) {
    this.#options = options;
  }

  /** The partition's producer, connected and initialised: from here on an older owner cannot commit. */
  producerFor(partition: number): Promise<Producer> {
    let pending = this.#producers.get(partition);
    if (!pending) {
      pending = this.#create(partition);
      this.#producers.set(partition, pending);
      pending.catch(() => this.#producers.delete(partition));
    }
    return pending;
  }

  async #create(partition: number): Promise<Producer> {
    const { kafka, groupId, topic } = this.#options;
    const producer = kafka.producer({
      transactionalId: transactionalIdOf(groupId, topic, partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Right after a commit the broker is still writing its markers, and the next transaction's first
      // request gets CONCURRENT_TRANSACTIONS for a few milliseconds: kafkajs's default first retry (300 ms)
      // would then cost more than the batch. An idempotent producer must retry without limit.
      retry: { initialRetryTime: 20, maxRetryTime: 1_000, retries: Number.MAX_SAFE_INTEGER },
    });
    try {
      await producer.connect();
      // An empty transaction: initialises the producer id (InitProducerId), which is what fences.
      const fence = await producer.transaction();
      await fence.abort();
      this.#options.logger.debug({ topic, partition }, 'transactional producer initialised');
      return producer;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw transactionError(error, `initialising the producer of ${topic}[${partition}]`, false);
    }
  }

  /** Drops a partition's producer (after a failure, or when the partition went to another member). */
  async discard(partition: number): Promise<void> {
    const pending = this.#producers.get(partition);
    if (!pending) return;
    this.#producers.delete(partition);
    const producer = await pending.catch(() => null);
    await producer?.disconnect().catch(() => undefined);
  }

  /** Keeps only the producers of `partitions` (this member's assignment after a rebalance). */
  async retain(partitions: Iterable<number>): Promise<void> {
    const keep = new Set(partitions);
    await Promise.all([...this.#producers.keys()].filter((p) => !keep.has(p)).map((p) => this.discard(p)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#producers.keys()].map((p) => this.discard(p)));
  }
}
