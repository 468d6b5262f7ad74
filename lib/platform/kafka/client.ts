/**
 * The project's Kafka client, behind one boundary: everything else sees the types declared here, the
 * subset of kafkajs's API the project uses. `KAFKA_CLIENT` picks the implementation: kafkajs itself (the
 * default) or @platformatic/kafka through the adapter in platformatic.ts, so no stage knows which runs.
 */
import { createRequire } from 'node:module';
import { Kafka as KafkajsKafka, logLevel, Partitioners } from 'kafkajs';
import type * as K from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createPlatformaticKafka } from './platformatic.ts';

export type {
  ConsumerConfig,
  IHeaders,
  ITopicConfig,
  KafkaMessage,
  Message,
  ProducerConfig,
  ProducerRecord,
  RecordMetadata,
} from 'kafkajs';
export { Partitioners };

/** The admin calls the project makes, with kafkajs's signatures and results. */
export type Admin = Pick<
  K.Admin,
  | 'connect'
  | 'disconnect'
  | 'listTopics'
  | 'createTopics'
  | 'deleteTopics'
  | 'fetchTopicOffsets'
  | 'fetchOffsets'
  | 'fetchTopicMetadata'
  | 'describeConfigs'
  | 'alterConfigs'
  | 'listGroups'
  | 'deleteGroups'
  | 'setOffsets'
  | 'describeCluster'
>;

/** One open transaction of a transactional producer. */
export interface Transaction {
  send(record: K.ProducerRecord): Promise<K.RecordMetadata[]>;
  /** The consumed offsets (next to read) of a group, committed with the transaction (exactly once). */
  sendOffsets(offsets: K.Offsets & { consumerGroupId: string }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

export interface Producer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Resolves once every message is acknowledged by all in-sync replicas (acks=all). */
  send(record: K.ProducerRecord): Promise<K.RecordMetadata[]>;
  /** Starts a transaction (a transactional producer only): the first one initialises the id, fencing. */
  transaction(): Promise<Transaction>;
}

/** A fetched batch of one partition: committed records only, in offset order. */
export type Batch = Pick<
  K.Batch,
  'topic' | 'partition' | 'highWatermark' | 'messages' | 'isEmpty' | 'firstOffset' | 'lastOffset'
>;

export interface EachBatchPayload {
  batch: Batch;
  /** Marks the batch done up to `offset`: the next fetch starts after it, a commit commits after it. */
  resolveOffset(offset: string): void;
  /** Throws (type REBALANCE_IN_PROGRESS) once the group rebalances: the batch must be let go. */
  heartbeat(): Promise<void>;
  pause(): () => void;
  commitOffsetsIfNecessary(offsets?: K.Offsets): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

export interface ConsumerRunConfig {
  autoCommit?: boolean;
  autoCommitInterval?: number | null;
  autoCommitThreshold?: number | null;
  eachBatchAutoResolve?: boolean;
  partitionsConsumedConcurrently?: number;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
}

export interface ConsumerEvents {
  readonly CRASH: 'consumer.crash';
  readonly END_BATCH_PROCESS: 'consumer.end_batch_process';
  readonly GROUP_JOIN: 'consumer.group_join';
}

type Remove = () => void;

export interface Consumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: K.ConsumerSubscribeTopics): Promise<void>;
  run(config?: ConsumerRunConfig): Promise<void>;
  stop(): Promise<void>;
  seek(topicPartitionOffset: K.TopicPartitionOffset): void;
  pause(topics: K.TopicPartitions[]): void;
  commitOffsets(topicPartitions: K.TopicPartitionOffsetAndMetadata[]): Promise<void>;
  readonly events: ConsumerEvents;
  on(event: ConsumerEvents['CRASH'], listener: (event: K.ConsumerCrashEvent) => void): Remove;
  on(
    event: ConsumerEvents['END_BATCH_PROCESS'],
    listener: (event: K.ConsumerEndBatchProcessEvent) => void,
  ): Remove;
  on(event: ConsumerEvents['GROUP_JOIN'], listener: (event: K.ConsumerGroupJoinEvent) => void): Remove;
}

/** A client: makes producers, consumers and admins (kafkajs's Kafka class, or the adapter). */
export interface Kafka {
  producer(config?: K.ProducerConfig): Producer;
  consumer(config: K.ConsumerConfig): Consumer;
  admin(): Admin;
}

export type KafkaClientKind = 'kafkajs' | 'platformatic';

const PINO_LEVEL_OF = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
} as const;

/** kafkajs level that lets through what the pino logger would print anyway, and nothing more. */
export function kafkaLogLevelFor(level: string): logLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'error':
    case 'fatal':
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

/**
 * kafkajs logs some conditions as errors that it then retries by design. CONCURRENT_TRANSACTIONS comes after
 * nearly every transaction commit (the broker is still writing its markers when the next transaction
 * starts) and is retried within milliseconds: at error level it would read as a fault every few batches.
 */
const ROUTINE_RETRIES = /concurrent operation on the same transaction/i;

function levelFor(level: logLevel, message: string, extra: Record<string, unknown>): logLevel {
  if (
    level === logLevel.ERROR &&
    (ROUTINE_RETRIES.test(message) || ROUTINE_RETRIES.test(String(extra.error ?? '')))
  ) {
    return logLevel.DEBUG;
  }
  return level;
}

/**
 * A broker that is away makes kafkajs log every failed connection attempt of every client: a thousand
 * lines in 20 s here. Repeats of one (namespace, message) are let through once per window, the next line
 * saying how many were held back; the stages' own logs say what the outage means.
 */
export function repeatLimiter(windowMs: number, clock: () => number = Date.now) {
  const seen = new Map<string, { until: number; held: number }>();
  return (key: string): { pass: boolean; held: number } => {
    const now = clock();
    const entry = seen.get(key);
    if (entry && now < entry.until) {
      entry.held++;
      return { pass: false, held: 0 };
    }
    const held = entry?.held ?? 0;
    seen.set(key, { until: now + windowMs, held: 0 });
    if (seen.size > 1_000) seen.clear();
    return { pass: true, held };
  };
}

/** Bridges kafkajs's logger to pino: one child per kafkajs namespace (Consumer, Producer, Cluster...). */
export function pinoLogCreator(logger: Logger, limit = repeatLimiter(5_000)) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const pinoLevel = PINO_LEVEL_OF[levelFor(level, message, extra)];
      if (pinoLevel === 'silent' || !logger.isLevelEnabled(pinoLevel)) return;
      const { pass, held } =
        pinoLevel === 'error' || pinoLevel === 'warn'
          ? limit(`${namespace}|${message}`)
          : { pass: true, held: 0 };
      if (!pass) return;
      logger[pinoLevel](
        { kafka: namespace, ...extra, ...(held > 0 ? { repeatsHeldBack: held } : {}) },
        message,
      );
    };
}

const FILTER_INSTALLED = Symbol.for('rainstream.kafkajs.timeoutNegativeWarningFilter');

/**
 * kafkajs 2.2.4 arms `setTimeout(fn, throttledUntil - Date.now())` with throttledUntil = -1 when a
 * connection opens, so Node 24 prints a TimeoutNegativeWarning per client (tulios/kafkajs#1751, open).
 * Node's clamp to 1 ms is exactly what kafkajs means, so the warning is noise. Only that warning, and
 * only when raised from kafkajs's own frames, is dropped; every other warning goes through untouched.
 */
export function silenceKafkajsTimeoutWarning(): void {
  const proc = process as NodeJS.Process & { [FILTER_INSTALLED]?: true };
  if (proc[FILTER_INSTALLED]) return;
  proc[FILTER_INSTALLED] = true;
  const original = process.emitWarning;
  process.emitWarning = function filtered(this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && /[\\/]kafkajs[\\/]/.test(new Error().stack ?? '')) return;
    return (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const SPIN_FIX_INSTALLED = Symbol.for('rainstream.kafkajs-request-queue-spin-fix');

/**
 * kafkajs 2.2.4 re-arms its "check pending requests" timer after every check, even when nothing is
 * pending and nothing is throttled: the delay is then `-1 - Date.now()`, which Node turns into 1 ms, so
 * every broker connection runs a 1 kHz timer loop for as long as it lives. That is what Node 24's
 * TimeoutNegativeWarning points at (tulios/kafkajs#1751), and it is not harmless: an idle process with a
 * producer and a few consumers burned a whole core here. The timer only has work when requests wait, or
 * when the broker throttles us; this skips it otherwise. Pushing a request that cannot go out at once
 * still schedules the check (pending is then non-empty), and a finished request checks the queue itself.
 */
export function fixKafkajsRequestQueueSpin(): void {
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueInternals & { [SPIN_FIX_INSTALLED]?: true };
  };
  const proto = RequestQueue.prototype;
  if (proto[SPIN_FIX_INSTALLED]) return;
  proto[SPIN_FIX_INSTALLED] = true;
  const schedule = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function scheduleOnlyWithWork(this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
}

export interface KafkaClientOptions {
  /** Overrides config.kafka.clientId, e.g. to tell stages apart in broker logs. */
  clientId?: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function createKafka(
  config: Pick<Config, 'kafka'>,
  logger: Logger,
  options: KafkaClientOptions = {},
): Kafka {
  if (config.kafka.client === 'platformatic') {
    return createPlatformaticKafka({
      clientId: options.clientId ?? config.kafka.clientId,
      brokers: config.kafka.brokers,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      logger: logger.child({ component: 'platformatic-kafka' }),
    });
  }
  return createKafkajs(config, logger, options);
}

/** kafkajs itself, whatever KAFKA_CLIENT says (bench:kafka-clients compares it with the other client). */
export function createKafkajs(
  config: Pick<Config, 'kafka'>,
  logger: Logger,
  options: KafkaClientOptions = {},
): KafkajsKafka {
  silenceKafkajsTimeoutWarning();
  fixKafkajsRequestQueueSpin();
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new KafkajsKafka({
    clientId: options.clientId ?? config.kafka.clientId,
    brokers: config.kafka.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // kafkajs's default backoff grows to 30 s between attempts, so a broker back after an outage would be
    // noticed up to 30 s late; 2 s at most keeps recovery quick (the callers wait outages out themselves).
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 10 },
    logLevel: kafkaLogLevelFor(kafkaLogger.level),
    logCreator: pinoLogCreator(kafkaLogger),
  });
}
