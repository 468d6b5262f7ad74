import { describeError, isRetriable, RainstreamError } from '../errors.ts';
import type { HealthReporter } from '../health.ts';
import type { Logger } from '../log.ts';
import { abortableSleep, backoffDelay, OUTAGE_BACKOFF, type RetryOptions } from '../retry.ts';
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
  /**
   * Call during long work so the group coordinator does not think this member died. Throws when the
   * group is rebalancing: the batch must then be let go (rethrow), the consumer rejoins.
   */
  heartbeat(): Promise<void>;
  /** True once a rebalance or seek made this batch obsolete: stop early, nothing will be committed. */
  isStale(): boolean;
  /** Moves the partition's position; the batch in hand becomes stale and the next fetch starts there. */
  seek(offset: string): void;
  /** Aborted when the consumer stops: waits inside a handler should end then. */
  signal: AbortSignal;
  /**
   * The offset after everything this fetch returned, transaction markers and aborted records included.
   * A read-committed fetch of a transactional topic ends with the producer's commit marker: committing
   * this rather than the last record's offset + 1 leaves no marker behind, so a group at rest has a lag
   * of 0, not 1 per partition.
   */
  nextOffset: string;
}

export interface BatchConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  fromBeginning: boolean;
  /**
   * Gets the records of one topic-partition, in offset order. Must return only once everything these
   * records produced is durable (produced with acks, written to ClickHouse/Redis): the shell then marks
   * the batch done and commits. It may run again for the same records after a crash or a failure, so its
   * effects must be idempotent (keyed upserts, ReplacingMergeTree rows) or transactional.
   */
  handleBatch(records: ConsumedRecord[], context: BatchContext): Promise<void>;
  logger: Logger;
  partitionsConsumedConcurrently?: number;
  /** Backoff between attempts at a failing batch (never given up: an outage is waited out). */
  retry?: Partial<Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter'>>;
  /** Commit after every batch (default) or at most this often. */
  commitIntervalMs?: number;
  /**
   * false: the consumer never commits; the handler does, e.g. in a Kafka transaction with its outputs.
   * The consumer still moves its position past a finished batch.
   */
  autoCommit?: boolean;
  /** How long the coordinator waits for a heartbeat before giving this member's partitions away. */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxBytesPerPartition?: number;
  /** How long a fetch waits for data; also bounds how long stop() waits for the fetch in flight. */
  maxWaitTimeMs?: number;
  /**
   * Bytes a fetch waits for (up to maxWaitTimeMs) before it returns: larger batches, fewer commits. A stage
   * that commits in a transaction per batch pays a few round trips per batch, so it asks for more.
   */
  minBytes?: number;
  /** Told when the consumer starts waiting something out (not ready) and when it works again. */
  health?: HealthReporter;
  /** The partitions this member owns after each (re)join of the group, per topic. */
  onAssignment?(assignment: Readonly<Record<string, readonly number[]>>): void;
  /**
   * Told after each fetched batch is done, with the last offset it covered: transaction markers and aborted
   * records included, which the handler never sees (so a reader knows when it reached an end offset).
   */
  onProgress?(progress: { topic: string; partition: number; lastOffset: bigint }): void;
}

export interface RunningConsumer {
  /** The kafkajs consumer of the moment (a new one after a restart). */
  readonly consumer: Consumer;
  /** Stops fetching, abandons a batch that is waiting out an outage, leaves the group, disconnects. */
  stop(): Promise<void>;
  /** Resolves once stopped. The consumer never gives up by itself: outages are waited out. */
  done: Promise<void>;
}

/**
 * Session timeout: a member that died (SIGKILL) holds its partitions this long. 6 s is the broker's
 * minimum (group.min.session.timeout.ms); kafkajs has no static membership (group.instance.id), so a
 * short session with a frequent heartbeat is what makes a takeover fast.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 6_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;

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

/** kafkajs's own signal that the group is rebalancing (or this member fell out of it): rejoin. */
export function isGroupMembershipError(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'NOT_COORDINATOR_FOR_GROUP' ||
    type === 'ILLEGAL_GENERATION' ||
    type === 'UNKNOWN_MEMBER_ID' ||
    type === 'FENCED_INSTANCE_ID'
  );
}

/** What the consumer does with a batch whose handler failed; pure, so the policy is tested alone. */
export type FailureDecision = 'abandon' | 'rejoin' | 'wait';

/**
 * - stopping, or a batch made stale by a seek, or an error that says the batch must be let go (REBALANCE,
 *   STOPPING): abandon it uncommitted, the next owner or the next start redoes it;
 * - kafkajs saying the group is rebalancing: rethrow so kafkajs rejoins;
 * - anything else: wait and try the same records again, however long it takes. A retriable error is an
 *   outage; a non-retriable one reaching here is not a record's fault (stages send those to the DLQ
 *   themselves), so exiting would only crash-loop on the same batch: the partition stalls, loudly.
 */
export function decideOnFailure(
  error: unknown,
  state: { stopping: boolean; stale: boolean },
): FailureDecision {
  if (state.stopping || state.stale) return 'abandon';
  if (isGroupMembershipError(error)) return 'rejoin';
  if (error instanceof RainstreamError && (error.code === 'REBALANCE' || error.code === 'STOPPING')) {
    return 'abandon';
  }
  // FENCED included: waiting heartbeats, and the heartbeat is how the rebalance that explains it shows.
  return 'wait';
}

/**
 * The generic shell every stage runs in: subscribe, hand each fetched batch to the stage, and commit its
 * offsets only after the stage says its outputs are durable. A failing batch is retried in place with a
 * capped backoff for as long as it fails (heartbeating meanwhile, and reporting not-ready), so an outage
 * of a dependency pauses the stage instead of killing it; when kafkajs itself gives up (a broker away
 * longer than its retries), a new kafkajs consumer is started, again and again until the broker is back.
 */
export async function runBatchConsumer(options: BatchConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, topics, logger } = options;
  const log = logger.child({ groupId });
  const backoff = { ...OUTAGE_BACKOFF, ...options.retry };
  const health = options.health ?? (() => undefined);
  const stopController = new AbortController();
  let stopping = false;
  let current: Consumer;
  let restarts = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const create = (): Consumer => {
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      heartbeatInterval: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
      minBytes: options.minBytes ?? 1,
      // kafkajs restarts a crashed consumer by itself when the cause looks transient; the rest is ours.
      retry: { retries: 8, restartOnFailure: async () => !stopping },
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      if (stopping) return;
      if (restart) {
        log.warn({ err: error }, 'consumer crashed on a transient error; kafkajs restarts it');
        return;
      }
      log.error({ err: error }, 'consumer stopped on an error; starting a new one');
      health(false, `consumer stopped: ${describeError(error)}`);
      void restartConsumer();
    });
    if (options.onProgress) {
      const onProgress = options.onProgress;
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
        onProgress({
          topic: payload.topic,
          partition: payload.partition,
          lastOffset: BigInt(payload.lastOffset),
        }),
      );
    }
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assignment = event.payload.memberAssignment as Record<string, number[]>;
      log.info({ assignment, leader: event.payload.isLeader }, 'joined the group');
      health(true);
      options.onAssignment?.(assignment);
    });
    return consumer;
  };

  const run = async (consumer: Consumer) => {
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: options.fromBeginning });
    const autoCommit = options.autoCommit ?? true;
    await consumer.run({
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatchAutoResolve: false,
      autoCommit,
      autoCommitInterval: autoCommit ? (options.commitIntervalMs ?? null) : null,
      autoCommitThreshold: autoCommit && options.commitIntervalMs === undefined ? 1 : null,
      eachBatch: (payload) => handle(consumer, payload),
    });
  };

  const handle = async (consumer: Consumer, payload: EachBatchPayload) => {
    const { batch } = payload;
    if (batch.isEmpty() || payload.isStale()) return;
    const records = toConsumedRecords(batch);
    const context: BatchContext = {
      topic: batch.topic,
      partition: batch.partition,
      heartbeat: payload.heartbeat,
      isStale: payload.isStale,
      seek: (offset) => consumer.seek({ topic: batch.topic, partition: batch.partition, offset }),
      signal: stopController.signal,
      nextOffset: String(BigInt(batch.lastOffset()) + 1n),
    };
    // kafkajs heartbeats only between batches: a batch that waits on ClickHouse or a transaction for
    // longer than the session would lose the partitions it is working on. This ticker keeps the member
    // alive while the handler awaits (a rebalance it learns of shows at the handler's next heartbeat).
    const interval = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    const ticker = setInterval(() => void payload.heartbeat().catch(() => undefined), interval);
    try {
      await handleWithRetries(payload, records, context);
    } finally {
      clearInterval(ticker);
    }
  };

  const handleWithRetries = async (
    payload: EachBatchPayload,
    records: ConsumedRecord[],
    context: BatchContext,
  ) => {
    const { batch } = payload;
    let failedSince = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        await options.handleBatch(records, context);
        break;
      } catch (error) {
        const decision = decideOnFailure(error, { stopping, stale: payload.isStale() });
        if (decision === 'abandon') {
          log.debug({ err: error, partition: batch.partition }, 'batch let go uncommitted');
          // Stale (a seek or rebalance moved the partition) or stopping: kafkajs takes it from there.
          if (stopping || payload.isStale()) return;
          throw error;
        }
        if (decision === 'rejoin') throw error;
        failedSince ||= Date.now();
        const delayMs = backoffDelay(Math.min(attempt, 30), backoff);
        const retriable = isRetriable(error) || (error instanceof RainstreamError && error.code === 'FENCED');
        const fields = { err: error, topic: batch.topic, partition: batch.partition, attempt, delayMs };
        // The first failure and then one line in ten: an outage of minutes must not flood the log.
        if (attempt === 1 || attempt % 10 === 0) {
          if (retriable) log.warn(fields, 'batch failed; waiting it out');
          else log.error(fields, 'batch failed on an error no retry should fix; the partition waits');
        }
        health(false, describeError(error));
        await heartbeatThroughOutage(payload.heartbeat);
        await abortableSleep(delayMs, stopController.signal).catch(() => undefined);
        if (stopping || payload.isStale()) return;
      }
    }
    if (failedSince !== 0) {
      log.info(
        { topic: batch.topic, partition: batch.partition, seconds: (Date.now() - failedSince) / 1000 },
        'batch went through again',
      );
      health(true);
    }
    if (payload.isStale()) return;
    payload.resolveOffset(String(BigInt(context.nextOffset) - 1n));
    await payload.commitOffsetsIfNecessary();
    await payload.heartbeat();
  };

  /** Keeps the membership while waiting: a rebalance ends the wait (rethrown), a broker away does not. */
  const heartbeatThroughOutage = async (heartbeat: () => Promise<void>) => {
    try {
      await heartbeat();
    } catch (error) {
      if (isGroupMembershipError(error)) throw error;
    }
  };

  const start = async () => {
    for (let attempt = 1; !stopping; attempt++) {
      const consumer = create();
      current = consumer;
      try {
        await run(consumer);
        return;
      } catch (error) {
        await consumer.disconnect().catch(() => undefined);
        if (stopping) return;
        const delayMs = backoffDelay(Math.min(attempt, 30), backoff);
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn({ err: error, attempt, delayMs }, 'consumer could not start; trying again');
        }
        health(false, `consumer not started: ${describeError(error)}`);
        await abortableSleep(delayMs, stopController.signal).catch(() => undefined);
      }
    }
  };

  let restarting: Promise<void> | null = null;
  const restartConsumer = () => {
    restarting ??= (async () => {
      const old = current;
      await old.disconnect().catch(() => undefined);
      restarts++;
      await abortableSleep(backoffDelay(Math.min(restarts, 30), backoff), stopController.signal).catch(
        () => undefined,
      );
      await start();
    })().finally(() => (restarting = null));
    return restarting;
  };

  await start();
  log.info({ topics }, 'consumer running');

  return {
    get consumer() {
      return current;
    },
    done,
    async stop() {
      if (stopping) return done;
      stopping = true;
      stopController.abort(new RainstreamError('STOPPING', 'consumer stopping'));
      await restarting?.catch(() => undefined);
      await current.disconnect().catch((error: unknown) => log.warn({ err: error }, 'disconnect failed'));
      log.info('consumer stopped');
      resolveDone();
      return done;
    },
  };
}
