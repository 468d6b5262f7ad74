import { describeError, isRetriable, RainstreamError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { retry, type RetryOptions } from '../retry.ts';
import type { Consumer, EachBatchPayload, IHeaders, Kafka } from './client.ts';

/** One record as a stage sees it: raw bytes, decoded by the stage's own codec. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Broker or producer timestamp, epoch ms. */
  timestamp: number;
}

export interface BatchContext {
  topic: string;
  partition: number;
  /** Call during long work so the group coordinator does not think this member died. */
  heartbeat(): Promise<void>;
  /** True once a rebalance or seek made this batch obsolete: stop early, nothing will be committed. */
  isStale(): boolean;
}

export interface BatchConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  fromBeginning: boolean;
  /**
   * Gets the records of one topic-partition, in offset order. Must return only once everything these
   * records produced is durable (produced with acks, written to ClickHouse/Redis): the shell then marks
   * the batch done and commits. It may run again for the same records after a crash or a retry, so its
   * effects must be idempotent (keyed upserts, ReplacingMergeTree rows).
   */
  handleBatch(records: ConsumedRecord[], context: BatchContext): Promise<void>;
  logger: Logger;
  partitionsConsumedConcurrently?: number;
  /** Retries of handleBatch for retriable errors; after them the consumer stops with the error. */
  retry?: Partial<RetryOptions>;
  /** Commit after every batch (default) or at most this often. */
  commitIntervalMs?: number;
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  /** How long a fetch waits for data; also bounds how long stop() waits for the fetch in flight. */
  maxWaitTimeMs?: number;
}

export interface RunningConsumer {
  consumer: Consumer;
  /** Stops fetching, lets the batch in hand finish and commit, leaves the group, disconnects. */
  stop(): Promise<void>;
  /** Settles when the consumer stops: resolves on stop(), rejects when it gave up on an error. */
  done: Promise<void>;
}

export function toConsumedRecords(batch: EachBatchPayload['batch']): ConsumedRecord[] {
  const records: ConsumedRecord[] = new Array(batch.messages.length);
  for (let i = 0; i < batch.messages.length; i++) {
    const m = batch.messages[i];
    records[i] = {
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key ?? null,
      value: m.value ?? null,
      headers: m.headers ?? {},
      timestamp: Number(m.timestamp),
    };
  }
  return records;
}

/**
 * The generic shell every stage runs in: subscribe, hand each fetched batch to the stage, and commit
 * its offsets only after the stage says its outputs are durable. Retriable failures are retried in
 * place with backoff; anything else stops the consumer (no offset past the failure is committed) and
 * rejects `done`, for the process shell to decide (exit and let the supervisor restart).
 */
export async function runBatchConsumer(options: BatchConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, topics, logger } = options;
  const log = logger.child({ groupId });
  const handlerFailures = new WeakSet<object>();
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
    retry: {
      retries: 5,
      // kafkajs restarts a crashed consumer when the deepest cause of the error looks transient; a
      // failure of the stage's handler has already had its retries, so restarting would replay it forever.
      restartOnFailure: async (error) => !causeChain(error).some((e) => handlerFailures.has(e)),
    },
  });

  let stopping = false;
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // Callers may only await stop(); an unobserved rejection must not take the process down by itself.
  done.catch(() => undefined);

  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    if (restart) {
      log.warn({ err: error }, 'consumer crashed on a transient error, kafkajs restarts it');
      return;
    }
    log.error({ err: error }, 'consumer stopped on an error');
    const handlerError = causeChain(error).find((e) => handlerFailures.has(e));
    settle.reject(
      handlerError ??
        new RainstreamError('CONSUMER_CRASHED', `consumer ${groupId} stopped: ${describeError(error)}`, {
          cause: error,
        }),
    );
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: options.fromBeginning });
  await consumer.run({
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    eachBatchAutoResolve: false,
    autoCommit: true,
    autoCommitInterval: options.commitIntervalMs ?? null,
    autoCommitThreshold: options.commitIntervalMs === undefined ? 1 : null,
    eachBatch: async (payload) => {
      const { batch } = payload;
      if (batch.isEmpty() || payload.isStale()) return;
      const records = toConsumedRecords(batch);
      const context: BatchContext = {
        topic: batch.topic,
        partition: batch.partition,
        heartbeat: payload.heartbeat,
        isStale: payload.isStale,
      };
      try {
        await retry(() => options.handleBatch(records, context), {
          ...options.retry,
          shouldRetry: (error) => !stopping && !payload.isStale() && isRetriable(error),
          onRetry: ({ error, attempt, delayMs }) =>
            log.warn(
              { err: error, topic: batch.topic, partition: batch.partition, attempt, delayMs },
              'batch handler failed, retrying',
            ),
        });
      } catch (error) {
        if (typeof error === 'object' && error !== null) handlerFailures.add(error);
        throw error;
      }
      if (payload.isStale()) return;
      payload.resolveOffset(records[records.length - 1].offset);
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    },
  });
  log.info({ topics }, 'consumer running');

  return {
    consumer,
    done,
    async stop() {
      stopping = true;
      await consumer.disconnect();
      log.info('consumer stopped');
      settle.resolve();
    },
  };
}

function causeChain(error: unknown): object[] {
  const chain: object[] = [];
  for (
    let e = error;
    typeof e === 'object' && e !== null && chain.length < 16;
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e);
  }
  return chain;
}
