/**
 * The project's Kafka client (client.ts's Kafka, Producer, Consumer and Admin: the subset of kafkajs's API
 * the project uses, with kafkajs's shapes) implemented on @platformatic/kafka, so that KAFKA_CLIENT picks
 * the client and no stage changes.
 *
 * What differs underneath, and why it is done this way:
 * - The group consumer is driven here, not through @platformatic's MessagesStream: the stages work a
 *   fetched batch of one partition at a time, need the offset after everything the fetch returned
 *   (transaction markers included) and must be able to seek, none of which a stream of single messages
 *   gives. @platformatic's Consumer keeps the group membership (join, sync, heartbeats, rejoin after a
 *   rebalance) and does the fetches (it drops aborted transactions' records); positions, batches and
 *   commits are this adapter's.
 * - `sendOffsets` commits the consumed offsets as kafkajs does (TxnOffsetCommit without the group's
 *   generation): zombies are fenced by the transactional id per input partition (transactions.ts).
 * - Errors come out with kafkajs's `type` (the broker's error name) and `retriable`, which is what
 *   lib/platform/errors.ts and the consumer's failure policy read.
 */
import {
  Admin as PltAdmin,
  ConnectionPool,
  compatibilityPartitioner,
  Consumer as PltConsumer,
  FetchIsolationLevels,
  Producer as PltProducer,
  type ClusterMetadata,
  type ConfigResourceTypeValue,
  type Message as PltMessage,
  type MessageToProduce,
  type ProduceResult,
} from '@platformatic/kafka';
import type * as K from 'kafkajs';
import { RainstreamError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type {
  Admin,
  Batch,
  Consumer,
  ConsumerEvents,
  ConsumerRunConfig,
  EachBatchPayload,
  Kafka,
  Producer,
  Transaction,
} from './client.ts';

type PltTransaction = Awaited<ReturnType<PltProducer['beginTransaction']>>;

export interface PlatformaticKafkaOptions {
  clientId: string;
  brokers: string[];
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  logger: Logger;
}

const EARLIEST = -2n;
const LATEST = -1n;
const DEFAULT_CONFIG_SOURCE = 5;
const GROUP_KEY = 0;

// ------------------------------------------------------------------------------------------- errors

interface ErrorLike {
  message?: string;
  apiId?: unknown;
  canRetry?: unknown;
  code?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** The error, its causes and (for @platformatic's MultipleErrors) the errors it gathers, bounded. */
function errorTree(error: unknown): ErrorLike[] {
  const seen: ErrorLike[] = [];
  const visit = (e: unknown) => {
    if (typeof e !== 'object' || e === null || seen.length >= 32 || seen.includes(e as ErrorLike)) return;
    const like = e as ErrorLike;
    seen.push(like);
    if (Array.isArray(like.errors)) for (const inner of like.errors) visit(inner);
    visit(like.cause);
  };
  visit(error);
  return seen;
}

/**
 * A failure of the client, as kafkajs would have raised it: `type` is the broker's error name
 * (REBALANCE_IN_PROGRESS, PRODUCER_FENCED...), `retriable` whether trying again may work.
 */
export class KafkaClientError extends Error {
  override readonly name = 'KafkaClientError';
  readonly type: string;
  readonly retriable: boolean;

  constructor(message: string, options: { type: string; retriable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.type = options.type;
    this.retriable = options.retriable;
  }
}

/** Translates an error of @platformatic/kafka (others pass through untouched). */
export function translateError(error: unknown): unknown {
  if (error instanceof KafkaClientError || error instanceof RainstreamError) return error;
  if (!(error instanceof Error)) return error;
  const tree = errorTree(error);
  if (!tree.some((e) => typeof e.code === 'string' && e.code.startsWith('PLT_KFK_'))) return error;
  // The deepest broker error names the failure; a wrapper ("failed 3 times") does not.
  const protocol = [...tree].reverse().find((e) => typeof e.apiId === 'string');
  const type = typeof protocol?.apiId === 'string' ? protocol.apiId : String(tree.at(-1)?.code ?? 'KAFKA');
  const transport = tree.some((e) => e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT');
  const refused = tree.some((e) => e.canRetry === false || e.code === 'PLT_KFK_USER');
  const retriable = !refused && (transport || tree.some((e) => e.canRetry === true));
  const detail = protocol?.message && protocol !== tree[0] ? `: ${protocol.message}` : '';
  return new KafkaClientError(`${error.message}${detail}`, { type, retriable, cause: error });
}

/** `promise`, or a retriable TIMEOUT once `ms` have passed without it settling. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KafkaClientError(`${what}: no answer in ${ms} ms`, {
            type: 'REQUEST_TIMED_OUT',
            retriable: true,
          }),
        ),
      ms,
    );
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateError(error);
  }
}

function rebalanceError(): KafkaClientError {
  return new KafkaClientError('the group is rebalancing', { type: 'REBALANCE_IN_PROGRESS', retriable: true });
}

// ------------------------------------------------------------------------------------------ records

function toBuffer(value: Buffer | string | null | undefined): Buffer | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/**
 * kafkajs's message as @platformatic's. Headers go in a Map keyed by distinct Buffers, which keeps a
 * repeated header name (kafkajs's array value) repeated on the wire.
 */
export function toPlatformaticMessage(topic: string, message: K.Message): MessageToProduce {
  const headers = new Map<Buffer, Buffer>();
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      const bytes = toBuffer(v as Buffer | string | undefined);
      if (bytes !== undefined) headers.set(Buffer.from(name), bytes);
    }
  }
  const out: MessageToProduce = { topic, headers };
  const key = toBuffer(message.key);
  const value = toBuffer(message.value);
  if (key !== undefined) out.key = key;
  if (value !== undefined) out.value = value;
  if (message.partition !== undefined) out.partition = message.partition;
  if (message.timestamp !== undefined) out.timestamp = BigInt(message.timestamp);
  return out;
}

/** A consumed record's headers as kafkajs gives them: Buffers, a repeated name as an array. */
export function toKafkajsHeaders(entries: readonly (readonly [Buffer | null, Buffer | null])[]): K.IHeaders {
  const headers: K.IHeaders = {};
  for (const [name, value] of entries) {
    if (name === null) continue;
    const key = name.toString();
    const v = value ?? Buffer.alloc(0);
    const existing = headers[key];
    if (existing === undefined) headers[key] = v;
    else headers[key] = Array.isArray(existing) ? [...existing, v] : [existing as Buffer, v];
  }
  return headers;
}

function toRecordMetadata(result: ProduceResult): K.RecordMetadata[] {
  return (result.offsets ?? []).map((o) => ({
    topicName: o.topic,
    partition: o.partition,
    errorCode: 0,
    baseOffset: String(o.offset),
  }));
}

let roundRobin = 0;

/** The Java client's murmur2 for a keyed record (as kafkajs's DefaultPartitioner); round robin otherwise. */
function javaCompatiblePartitioner(message: MessageToProduce, key: Buffer | undefined): number {
  if (key !== undefined) return compatibilityPartitioner(message, key);
  roundRobin = (roundRobin + 1) & 0x7fffffff;
  return roundRobin;
}

// ---------------------------------------------------------------------------------------- clients

interface BaseOptions {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  timeout: number;
  retries: number;
  retryDelay: (client: unknown, operationId: string, attempt: number) => number;
}

/** A backoff growing from `initialMs` to at most `maxMs`, as kafkajs's retry options describe it. */
function backoff(retry: K.RetryOptions | undefined): BaseOptions['retryDelay'] {
  const initial = retry?.initialRetryTime ?? 100;
  const max = retry?.maxRetryTime ?? 2_000;
  return (_client, _operation, attempt) => Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
}

class PlatformaticKafka implements Kafka {
  readonly #options: PlatformaticKafkaOptions;
  /** Group coordinators by group id, for the offsets a transaction commits. */
  readonly #coordinators = new Map<string, number>();
  #lookup: PltAdmin | null = null;

  constructor(options: PlatformaticKafkaOptions) {
    this.#options = options;
  }

  base(retry?: K.RetryOptions, timeoutMs?: number): BaseOptions {
    return {
      clientId: this.#options.clientId,
      bootstrapBrokers: this.#options.brokers,
      connectTimeout: this.#options.connectionTimeoutMs,
      timeout: timeoutMs ?? this.#options.requestTimeoutMs,
      retries: Math.min(retry?.retries ?? 10, Number.MAX_SAFE_INTEGER),
      retryDelay: backoff(retry),
    };
  }

  get requestTimeoutMs(): number {
    return this.#options.requestTimeoutMs;
  }

  get logger(): Logger {
    return this.#options.logger;
  }

  async coordinatorOf(groupId: string): Promise<number> {
    const known = this.#coordinators.get(groupId);
    if (known !== undefined) return known;
    this.#lookup ??= new PltAdmin(this.base());
    const [found] = await this.#lookup.findCoordinator({ keyType: GROUP_KEY, keys: [groupId] });
    if (!found)
      throw new RainstreamError('KAFKA', `no coordinator for group ${groupId}`, { retriable: true });
    this.#coordinators.set(groupId, found.nodeId);
    return found.nodeId;
  }

  forgetCoordinator(groupId: string): void {
    this.#coordinators.delete(groupId);
  }

  producer(config: K.ProducerConfig = {}): Producer {
    return new PlatformaticProducer(this, config);
  }

  consumer(config: K.ConsumerConfig): Consumer {
    return new PlatformaticConsumer(this, config);
  }

  admin(): Admin {
    return new PlatformaticAdmin(this);
  }
}

export function createPlatformaticKafka(options: PlatformaticKafkaOptions): Kafka {
  return new PlatformaticKafka(options);
}

/** A topic's watermarks when `kafka` is this adapter (offsets.ts's highWatermarks); null for kafkajs. */
export async function platformaticWatermarks(
  kafka: Kafka,
  topic: string,
): Promise<Map<number, { low: bigint; high: bigint }> | null> {
  if (!(kafka instanceof PlatformaticKafka)) return null;
  const admin = new PlatformaticAdmin(kafka);
  try {
    return await admin.watermarks(topic);
  } finally {
    await admin.disconnect();
  }
}

// --------------------------------------------------------------------------------------- producer

class PlatformaticProducer implements Producer {
  readonly #kafka: PlatformaticKafka;
  readonly #config: K.ProducerConfig;
  #producer: PltProducer | null = null;

  constructor(kafka: PlatformaticKafka, config: K.ProducerConfig) {
    this.#kafka = kafka;
    this.#config = config;
  }

  #client(): PltProducer {
    if (this.#producer) return this.#producer;
    const { transactionalId, transactionTimeout, retry } = this.#config;
    this.#producer = new PltProducer({
      // @platformatic uses the client timeout as the transaction timeout too.
      ...this.#kafka.base(retry, transactionalId ? transactionTimeout : undefined),
      idempotent: this.#config.idempotent ?? Boolean(transactionalId),
      acks: -1,
      partitioner: javaCompatiblePartitioner,
      ...(transactionalId ? { transactionalId } : {}),
    });
    return this.#producer;
  }

  async connect(): Promise<void> {
    await guarded(() => this.#client().metadata({ topics: [] }));
  }

  async disconnect(): Promise<void> {
    const producer = this.#producer;
    this.#producer = null;
    await producer?.close().catch(() => undefined);
  }

  async send(record: K.ProducerRecord): Promise<K.RecordMetadata[]> {
    const messages = record.messages.map((m) => toPlatformaticMessage(record.topic, m));
    return toRecordMetadata(await guarded(() => this.#client().send({ messages })));
  }

  async transaction(): Promise<Transaction> {
    // The first transaction initialises the id (InitProducerId), fencing an earlier holder. Without a
    // producer id of its own a producer must say -1/-1: @platformatic's default (0/0) asks the broker to
    // bump producer 0's epoch, which it refuses as PRODUCER_FENCED once the id was ever used.
    const tx = await guarded(() => this.#client().beginTransaction({ producerId: -1n, producerEpoch: -1 }));
    return new PlatformaticTransaction(this.#kafka, tx);
  }
}

class PlatformaticTransaction implements Transaction {
  readonly #kafka: PlatformaticKafka;
  readonly #tx: PltTransaction;
  /** Whether the broker knows of this transaction yet: an untouched one ends locally (EndTxn would fail). */
  #touched = false;
  #ended = false;

  constructor(kafka: PlatformaticKafka, tx: PltTransaction) {
    this.#kafka = kafka;
    this.#tx = tx;
  }

  async send(record: K.ProducerRecord): Promise<K.RecordMetadata[]> {
    this.#touched = true;
    const messages = record.messages.map((m) => toPlatformaticMessage(record.topic, m));
    return toRecordMetadata(await guarded(() => this.#tx.send({ messages })));
  }

  async sendOffsets({ consumerGroupId, topics }: K.Offsets & { consumerGroupId: string }): Promise<void> {
    this.#touched = true;
    await guarded(async () => {
      try {
        const coordinatorId = await this.#kafka.coordinatorOf(consumerGroupId);
        await this.#tx.addConsumer({ groupId: consumerGroupId } as PltConsumer);
        for (const { topic, partitions } of topics) {
          for (const { partition, offset } of partitions) {
            // addOffset commits the message's offset + 1; the generation is not checked (-1), as kafkajs.
            await this.#tx.addOffset({
              topic,
              partition,
              offset: BigInt(offset) - 1n,
              metadata: {
                consumer: { groupId: consumerGroupId, generationId: -1, memberId: '', coordinatorId },
              },
            } as unknown as PltMessage);
          }
        }
      } catch (error) {
        this.#kafka.forgetCoordinator(consumerGroupId);
        throw error;
      }
    });
  }

  async commit(): Promise<void> {
    if (this.#touched) await guarded(() => this.#tx.commit());
    else await guarded(() => this.#tx.cancel());
    this.#ended = true;
  }

  async abort(): Promise<void> {
    this.#ended = true;
    if (this.#touched) await guarded(() => this.#tx.abort());
    else await guarded(() => this.#tx.cancel());
  }

  isActive(): boolean {
    return !this.#ended && !this.#tx.completed;
  }
}

// ------------------------------------------------------------------------------------------ admin

class PlatformaticAdmin implements Admin {
  readonly #kafka: PlatformaticKafka;
  #admin: PltAdmin | null = null;

  constructor(kafka: PlatformaticKafka) {
    this.#kafka = kafka;
  }

  #client(): PltAdmin {
    this.#admin ??= new PltAdmin(this.#kafka.base());
    return this.#admin;
  }

  async #partitionsOf(topics: readonly string[]): Promise<Map<string, number>> {
    const metadata = await this.#client().metadata({ topics: [...topics], forceUpdate: true });
    return new Map(topics.map((t) => [t, metadata.topics.get(t)?.partitionsCount ?? 0]));
  }

  async connect(): Promise<void> {
    await guarded(() => this.#client().metadata({ topics: [] }));
  }

  async disconnect(): Promise<void> {
    const admin = this.#admin;
    this.#admin = null;
    await admin?.close().catch(() => undefined);
  }

  listTopics(): Promise<string[]> {
    return guarded(() => this.#client().listTopics());
  }

  createTopics(options: {
    validateOnly?: boolean;
    waitForLeaders?: boolean;
    timeout?: number;
    topics: K.ITopicConfig[];
  }): Promise<boolean> {
    return guarded(async () => {
      let all = true;
      for (const t of options.topics) {
        try {
          await this.#client().createTopics({
            topics: [t.topic],
            partitions: t.numPartitions ?? -1,
            replicas: t.replicationFactor ?? -1,
            configs: (t.configEntries ?? []).map((e) => ({ name: e.name, value: e.value })),
          });
        } catch (error) {
          if (errorTree(error).some((e) => e.apiId === 'TOPIC_ALREADY_EXISTS')) all = false;
          else throw error;
        }
      }
      if (options.waitForLeaders ?? true) await this.#waitForLeaders(options.topics.map((t) => t.topic));
      return all;
    });
  }

  /** Until every partition of `topics` has a leader: KRaft refuses fetches before. */
  async #waitForLeaders(topics: string[]): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const metadata = await this.#client()
        .metadata({ topics, forceUpdate: true })
        .catch(() => null);
      const ready =
        metadata !== null &&
        topics.every((t) => {
          const found = metadata.topics.get(t);
          return found !== undefined && found.partitions.every((p) => p.leader >= 0);
        });
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    return guarded(() => this.#client().deleteTopics({ topics: options.topics }));
  }

  /** Low and high watermarks (READ_UNCOMMITTED: the high watermark, not the last stable offset). */
  async watermarks(topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
    return guarded(async () => {
      const high = await this.#offsets(topic, LATEST, FetchIsolationLevels.READ_UNCOMMITTED);
      const low = await this.#offsets(topic, EARLIEST, FetchIsolationLevels.READ_UNCOMMITTED);
      return new Map([...high].map(([p, h]) => [p, { low: low.get(p) ?? 0n, high: h }]));
    });
  }

  async #offsets(
    topic: string,
    timestamp: bigint,
    // As kafkajs's admin: by default the high watermark is the last stable offset (open transactions not
    // counted).
    isolationLevel: number = FetchIsolationLevels.READ_COMMITTED,
  ): Promise<Map<number, bigint>> {
    const partitions = (await this.#partitionsOf([topic])).get(topic) ?? 0;
    const [listed] = await this.#client().listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, timestamp })),
        },
      ],
      isolationLevel: isolationLevel as 0 | 1,
    });
    return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
  }

  fetchTopicOffsets(topic: string): Promise<(K.SeekEntry & { high: string; low: string })[]> {
    return guarded(async () => {
      const [high, low] = [await this.#offsets(topic, LATEST), await this.#offsets(topic, EARLIEST)];
      return [...high.keys()]
        .sort((a, b) => a - b)
        .map((partition) => ({
          partition,
          offset: String(high.get(partition)),
          high: String(high.get(partition)),
          low: String(low.get(partition) ?? 0n),
        }));
    });
  }

  fetchOffsets(options: {
    groupId: string;
    topics?: string[];
    resolveOffsets?: boolean;
  }): Promise<{ topic: string; partitions: K.FetchOffsetsPartition[] }[]> {
    return guarded(async () => {
      const topics = options.topics ?? [];
      const counts = await this.#partitionsOf(topics);
      const [group] = await this.#client().listConsumerGroupOffsets({
        groups: [
          {
            groupId: options.groupId,
            topics: topics.map((name) => ({
              name,
              partitionIndexes: Array.from({ length: counts.get(name) ?? 0 }, (_, i) => i),
            })),
          },
        ],
      });
      return topics.map((topic) => {
        const found = group?.topics.find((t) => t.name === topic);
        return {
          topic,
          partitions: (found?.partitions ?? []).map((p) => ({
            partition: p.partitionIndex,
            offset: String(p.committedOffset),
            metadata: p.metadata ?? null,
          })),
        };
      });
    });
  }

  fetchTopicMetadata(options?: { topics: string[] }): Promise<{ topics: K.ITopicMetadata[] }> {
    return guarded(async () => {
      const topics = options?.topics ?? (await this.#client().listTopics());
      const metadata: ClusterMetadata = await this.#client().metadata({ topics, forceUpdate: true });
      return {
        topics: topics.map((name) => ({
          name,
          partitions: (metadata.topics.get(name)?.partitions ?? []).map((p, partitionId) => ({
            partitionErrorCode: 0,
            partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
            offlineReplicas: p.offlineReplicas,
          })),
        })),
      };
    });
  }

  describeConfigs(configs: {
    resources: K.ResourceConfigQuery[];
    includeSynonyms: boolean;
  }): Promise<K.DescribeConfigResponse> {
    return guarded(async () => {
      const described = await this.#client().describeConfigs({
        resources: configs.resources.map((r) => ({
          resourceType: r.type as ConfigResourceTypeValue,
          resourceName: r.name,
          configurationKeys: r.configNames ?? null,
        })),
        includeSynonyms: configs.includeSynonyms,
      });
      return {
        throttleTime: 0,
        resources: described.map((d) => ({
          errorCode: 0,
          errorMessage: '',
          resourceName: d.resourceName,
          resourceType: d.resourceType as unknown as K.ConfigResourceTypes,
          configEntries: d.configs.map((c) => ({
            configName: c.name,
            configValue: c.value ?? '',
            isDefault: c.configSource === DEFAULT_CONFIG_SOURCE,
            configSource: c.configSource as unknown as K.ConfigSource,
            isSensitive: c.isSensitive,
            readOnly: c.readOnly,
            configSynonyms: [],
          })),
        })),
      };
    });
  }

  alterConfigs(configs: { validateOnly: boolean; resources: K.IResourceConfig[] }): Promise<void> {
    return guarded(() =>
      this.#client().alterConfigs({
        validateOnly: configs.validateOnly,
        resources: configs.resources.map((r) => ({
          resourceType: r.type as ConfigResourceTypeValue,
          resourceName: r.name,
          configs: r.configEntries.map((e) => ({ name: e.name, value: e.value })),
        })),
      }),
    );
  }

  listGroups(): Promise<{ groups: K.GroupOverview[] }> {
    return guarded(async () => {
      const groups = await this.#client().listGroups();
      return { groups: [...groups.values()].map((g) => ({ groupId: g.id, protocolType: g.protocolType })) };
    });
  }

  deleteGroups(groupIds: string[]): Promise<K.DeleteGroupsResult[]> {
    return guarded(async () => {
      await this.#client().deleteGroups({ groups: groupIds });
      return groupIds.map((groupId) => ({ groupId, errorCode: 0 }));
    });
  }

  setOffsets(options: { groupId: string; topic: string; partitions: K.SeekEntry[] }): Promise<void> {
    return guarded(() =>
      this.#client().alterConsumerGroupOffsets({
        groupId: options.groupId,
        topics: [
          {
            name: options.topic,
            partitionOffsets: options.partitions.map((p) => ({
              partition: p.partition,
              offset: BigInt(p.offset),
            })),
          },
        ],
      }),
    );
  }

  describeCluster(): Promise<{
    brokers: { nodeId: number; host: string; port: number }[];
    controller: number | null;
    clusterId: string;
  }> {
    return guarded(async () => {
      const metadata = await this.#client().metadata({ topics: [], forceUpdate: true });
      return {
        brokers: [...metadata.brokers].map(([nodeId, b]) => ({ nodeId, host: b.host, port: b.port })),
        controller: metadata.controllerId,
        clusterId: metadata.id,
      };
    });
  }
}

// --------------------------------------------------------------------------------------- consumer

/**
 * A connection pool of the consumer's own making (its options, its events), through the same private
 * factory MessagesStream uses, found by its description; a plain pool if a later version renames it.
 */
function createPool(consumer: PltConsumer): ConnectionPool {
  let proto: object | null = Object.getPrototypeOf(consumer) as object | null;
  for (; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const symbol = Object.getOwnPropertySymbols(proto).find(
      (s) => s.description === 'plt.kafka.base.createConnectionPool',
    );
    const factory = symbol && (proto as Record<symbol, unknown>)[symbol];
    if (typeof factory === 'function') return factory.call(consumer) as ConnectionPool;
  }
  return new ConnectionPool(consumer.clientId);
}

const CONSUMER_EVENTS: ConsumerEvents = {
  CRASH: 'consumer.crash',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  GROUP_JOIN: 'consumer.group_join',
};

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

interface FetchedBatch {
  topic: string;
  partition: number;
  /** The offset the fetch started at. */
  from: bigint;
  messages: K.KafkaMessage[];
  /** The last offset the fetch returned, transaction markers and aborted records included. */
  lastOffset: bigint;
  highWatermark: bigint;
}

class PlatformaticConsumer implements Consumer {
  readonly events = CONSUMER_EVENTS;
  readonly #kafka: PlatformaticKafka;
  readonly #config: K.ConsumerConfig;
  #consumer: PltConsumer | null = null;
  /**
   * Fetches go over connections of their own (as @platformatic's MessagesStream does): the broker answers
   * one request per connection at a time, and a JoinGroup held for a whole rebalance, or a heartbeat behind
   * a long-polling fetch, would otherwise wait for each other.
   */
  #fetchPool: ConnectionPool | null = null;
  readonly #listeners = new Map<string, Set<(event: unknown) => void>>();
  #topics: string[] = [];
  #fromBeginning = false;
  #run: ConsumerRunConfig = {};
  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** Bumped at every (re)join of the group: batches fetched before are stale. */
  #generation = 0;
  #rebalancing = false;
  #needPositions = true;
  /** Per partition: the next offset to fetch. */
  readonly #positions = new Map<string, bigint>();
  /** Seeks not yet worked past: they win over the committed offsets when positions are (re)read. */
  readonly #seeks = new Map<string, bigint>();
  readonly #seekEpochs = new Map<string, number>();
  readonly #paused = new Set<string>();
  /** Per partition: the offset after the last resolved record, and what was committed. */
  readonly #resolved = new Map<string, { topic: string; partition: number; next: bigint }>();
  readonly #committed = new Map<string, bigint>();
  #resolvedSinceCommit = 0;
  #lastCommitAt = Date.now();

  constructor(kafka: PlatformaticKafka, config: K.ConsumerConfig) {
    this.#kafka = kafka;
    this.#config = config;
  }

  on(event: string, listener: (event: never) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    const l = listener as (event: unknown) => void;
    set.add(l);
    return () => set.delete(l);
  }

  #emit(event: string, payload: Record<string, unknown>): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      listener({ id: 0, type: event, timestamp: Date.now(), payload });
    }
  }

  #client(): PltConsumer {
    if (this.#consumer) return this.#consumer;
    const c = this.#config;
    const consumer = new PltConsumer({
      ...this.#kafka.base(c.retry),
      groupId: c.groupId,
      autocommit: false,
      sessionTimeout: c.sessionTimeout ?? 30_000,
      heartbeatInterval: c.heartbeatInterval ?? 3_000,
      rebalanceTimeout: c.rebalanceTimeout ?? 60_000,
      minBytes: c.minBytes ?? 1,
      maxWaitTime: c.maxWaitTimeInMs ?? 5_000,
      maxBytesPerPartition: c.maxBytesPerPartition ?? 1_048_576,
      maxBytes: c.maxBytes ?? 10_485_760,
      isolationLevel: c.readUncommitted
        ? FetchIsolationLevels.READ_UNCOMMITTED
        : FetchIsolationLevels.READ_COMMITTED,
    });
    consumer.on('consumer:group:join', (payload: { isLeader?: boolean; memberId?: string }) => {
      this.#generation++;
      this.#rebalancing = false;
      this.#needPositions = true;
      const memberAssignment: Record<string, number[]> = {};
      for (const a of consumer.assignments ?? []) memberAssignment[a.topic] = [...a.partitions];
      this.#emit(CONSUMER_EVENTS.GROUP_JOIN, {
        groupId: c.groupId,
        memberId: payload.memberId ?? consumer.memberId,
        isLeader: payload.isLeader ?? false,
        memberAssignment,
      });
      this.#wake?.();
    });
    consumer.on('consumer:group:rebalance', () => {
      this.#rebalancing = true;
    });
    // A heartbeat the coordinator accepted: this member's generation is current, no rebalance is under way.
    consumer.on('consumer:heartbeat:end', () => {
      this.#rebalancing = false;
    });
    // A rejoin that failed for good (the broker away longer than the retries): this member is out of the
    // group. Told as a crash kafkajs would not restart from, so the owner starts a new consumer.
    consumer.on('error', (error: unknown) => {
      if (!this.#running) return;
      this.#emit(CONSUMER_EVENTS.CRASH, { error: translateError(error), groupId: c.groupId, restart: false });
    });
    this.#consumer = consumer;
    this.#fetchPool = createPool(consumer);
    return consumer;
  }

  async connect(): Promise<void> {
    await guarded(() => this.#client().metadata({ topics: [] }));
  }

  async subscribe(subscription: K.ConsumerSubscribeTopics): Promise<void> {
    this.#topics.push(...subscription.topics.map(String));
    this.#fromBeginning = subscription.fromBeginning ?? false;
  }

  async run(config: ConsumerRunConfig = {}): Promise<void> {
    this.#run = config;
    const consumer = this.#client();
    for (const topic of this.#topics) consumer.topics.track(topic);
    await guarded(() =>
      consumer.joinGroup({
        sessionTimeout: this.#config.sessionTimeout ?? 30_000,
        heartbeatInterval: this.#config.heartbeatInterval ?? 3_000,
        rebalanceTimeout: this.#config.rebalanceTimeout ?? 60_000,
      }),
    );
    this.#running = true;
    this.#loop = this.#fetchLoop();
  }

  seek({ topic, partition, offset }: K.TopicPartitionOffset): void {
    const key = keyOf(topic, partition);
    this.#positions.set(key, BigInt(offset));
    this.#seeks.set(key, BigInt(offset));
    this.#seekEpochs.set(key, (this.#seekEpochs.get(key) ?? 0) + 1);
    this.#wake?.();
  }

  pause(topics: K.TopicPartitions[]): void {
    for (const { topic, partitions } of topics) {
      for (const partition of partitions ?? []) this.#paused.add(keyOf(topic, partition));
    }
  }

  async commitOffsets(offsets: K.TopicPartitionOffsetAndMetadata[]): Promise<void> {
    await guarded(() =>
      this.#client().commit({
        offsets: offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
          leaderEpoch: -1,
        })),
      }),
    );
    for (const o of offsets) this.#committed.set(keyOf(o.topic, o.partition), BigInt(o.offset));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop?.catch(() => undefined);
    this.#loop = null;
  }

  async disconnect(): Promise<void> {
    const wasRunning = this.#running;
    await this.stop();
    const consumer = this.#consumer;
    this.#consumer = null;
    if (!consumer) return;
    if (wasRunning && (this.#run.autoCommit ?? true)) await this.#commitResolved().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
    await this.#fetchPool?.close().catch(() => undefined);
    this.#fetchPool = null;
  }

  #assigned(): { topic: string; partition: number }[] {
    const out: { topic: string; partition: number }[] = [];
    for (const a of this.#consumer?.assignments ?? []) {
      for (const partition of a.partitions) out.push({ topic: a.topic, partition });
    }
    return out;
  }

  #owns(topic: string, partition: number): boolean {
    return (this.#consumer?.assignments ?? []).some(
      (a) => a.topic === topic && a.partitions.includes(partition),
    );
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #fetchLoop(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      try {
        if (this.#needPositions) await this.#readPositions();
        const fetched = await this.#fetch();
        if (fetched === null) await this.#idle(100);
        else await this.#process(fetched);
        failures = 0;
      } catch (error) {
        if (!this.#running) break;
        failures++;
        const translated = translateError(error);
        // A rebalance under way: the platformatic consumer rejoins by itself, positions are read again then.
        this.#emit(CONSUMER_EVENTS.CRASH, {
          error: translated,
          groupId: this.#config.groupId,
          restart: true,
        });
        await this.#idle(Math.min(2_000, 100 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /** Each assigned partition's position: a pending seek, else the committed offset, else start or end. */
  async #readPositions(): Promise<void> {
    const generation = this.#generation;
    const consumer = this.#client();
    const assigned = this.#assigned();
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of assigned)
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    const committed = topics.length > 0 ? await consumer.listCommittedOffsets({ topics }) : new Map();
    const missing = new Map<string, number[]>();
    this.#positions.clear();
    for (const { topic, partition } of assigned) {
      const key = keyOf(topic, partition);
      const seek = this.#seeks.get(key);
      const offset = (committed.get(topic) as bigint[] | undefined)?.[partition] ?? -1n;
      if (seek !== undefined) this.#positions.set(key, seek);
      else if (offset >= 0n) {
        this.#positions.set(key, offset);
        this.#committed.set(key, offset);
      } else missing.set(topic, [...(missing.get(topic) ?? []), partition]);
    }
    for (const [topic, partitions] of missing) {
      const listed = await consumer.listOffsets({
        topics: [topic],
        partitions: { [topic]: partitions },
        timestamp: this.#fromBeginning ? EARLIEST : LATEST,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      });
      const offsets = listed.get(topic) ?? [];
      for (const partition of partitions) {
        this.#positions.set(keyOf(topic, partition), offsets[partition] ?? 0n);
      }
    }
    if (generation === this.#generation) this.#needPositions = false;
  }

  /** One fetch of every assigned, unpaused partition (grouped by leader); null when there is none. */
  async #fetch(): Promise<{ generation: number; batches: FetchedBatch[] } | null> {
    const consumer = this.#client();
    const generation = this.#generation;
    const wanted = this.#assigned().filter(
      ({ topic, partition }) =>
        !this.#paused.has(keyOf(topic, partition)) && this.#positions.has(keyOf(topic, partition)),
    );
    if (wanted.length === 0) return null;
    const metadata = await consumer.metadata({ topics: [...new Set(wanted.map((w) => w.topic))] });
    const requests = new Map<number, Map<string, { partition: number; fetchOffset: bigint }[]>>();
    const topicOfId = new Map<string, string>();
    const requested = new Map<string, bigint>();
    for (const { topic, partition } of wanted) {
      const topicMetadata = metadata.topics.get(topic);
      const leader = topicMetadata?.partitions[partition]?.leader;
      if (topicMetadata === undefined || leader === undefined || leader < 0) continue;
      topicOfId.set(topicMetadata.id, topic);
      const fetchOffset = this.#positions.get(keyOf(topic, partition))!;
      requested.set(keyOf(topic, partition), fetchOffset);
      const node = requests.get(leader) ?? new Map();
      requests.set(leader, node);
      node.set(topicMetadata.id, [...(node.get(topicMetadata.id) ?? []), { partition, fetchOffset }]);
    }
    const c = this.#config;
    const maxWaitMs = c.maxWaitTimeInMs ?? 5_000;
    const responses = await Promise.all(
      [...requests].map(([node, topics]) =>
        withDeadline(
          consumer.fetch({
            node,
            connectionPool: this.#fetchPool ?? undefined,
            minBytes: c.minBytes ?? 1,
            maxWaitTime: c.maxWaitTimeInMs ?? 5_000,
            maxBytes: c.maxBytes ?? 10_485_760,
            isolationLevel: c.readUncommitted
              ? FetchIsolationLevels.READ_UNCOMMITTED
              : FetchIsolationLevels.READ_COMMITTED,
            topics: [...topics].map(([topicId, partitions]) => ({
              topicId,
              partitions: partitions.map((p) => ({
                partition: p.partition,
                fetchOffset: p.fetchOffset,
                partitionMaxBytes: c.maxBytesPerPartition ?? 1_048_576,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              })),
            })),
          }),
          // A fetch whose answer never comes (a connection lost mid-request) must not stall the partitions:
          // past its wait and the request timeout it counts as failed, and the next fetch asks again.
          maxWaitMs + this.#kafka.requestTimeoutMs,
          'fetch',
        ),
      ),
    );
    const batches: FetchedBatch[] = [];
    for (const response of responses) {
      for (const topicResponse of response.responses) {
        const topic = topicOfId.get(topicResponse.topicId);
        if (topic === undefined) continue;
        for (const p of topicResponse.partitions) {
          const from = requested.get(keyOf(topic, p.partitionIndex));
          if (from === undefined || !p.records || p.records.length === 0) continue;
          const messages: K.KafkaMessage[] = [];
          let lastOffset = from - 1n;
          for (const batch of p.records) {
            lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
            // Control batches (transaction markers) take offsets but carry no records for the handler.
            if (batch.attributes & 0x20) continue;
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < from) continue;
              messages.push({
                key: record.key,
                value: record.value,
                timestamp: String(batch.firstTimestamp + record.timestampDelta),
                attributes: record.attributes,
                offset: String(offset),
                size: record.length,
                headers: toKafkajsHeaders(record.headers),
              } as unknown as K.KafkaMessage);
            }
          }
          if (lastOffset < from) continue;
          batches.push({
            topic,
            partition: p.partitionIndex,
            from,
            messages,
            lastOffset,
            highWatermark: p.highWatermark,
          });
        }
      }
    }
    return { generation, batches };
  }

  async #process({ generation, batches }: { generation: number; batches: FetchedBatch[] }): Promise<void> {
    const limit = Math.max(1, this.#run.partitionsConsumedConcurrently ?? 1);
    let next = 0;
    const worker = async () => {
      while (next < batches.length && this.#running) await this.#handle(batches[next++]!, generation);
    };
    await Promise.all(Array.from({ length: Math.min(limit, batches.length) }, worker));
  }

  async #handle(fetched: FetchedBatch, generation: number): Promise<void> {
    const { topic, partition, messages, lastOffset } = fetched;
    const key = keyOf(topic, partition);
    const seekEpoch = this.#seekEpochs.get(key) ?? 0;
    const isStale = () =>
      !this.#running ||
      generation !== this.#generation ||
      (this.#seekEpochs.get(key) ?? 0) !== seekEpoch ||
      this.#positions.get(key) !== fetched.from ||
      !this.#owns(topic, partition);
    if (isStale()) return;
    const started = Date.now();
    let resolved: bigint | null = null;
    const resolveOffset = (offset: string) => {
      resolved = BigInt(offset);
    };
    if (messages.length === 0) {
      // Only markers or aborted records: nothing for the handler, the position moves past them.
      resolveOffset(String(lastOffset));
    } else {
      const batch: Batch = {
        topic,
        partition,
        highWatermark: String(fetched.highWatermark),
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => messages[0]?.offset ?? null,
        lastOffset: () => String(lastOffset),
      };
      const payload: EachBatchPayload = {
        batch,
        resolveOffset,
        heartbeat: async () => {
          if (generation !== this.#generation || this.#rebalancing) throw rebalanceError();
        },
        pause: () => {
          this.#paused.add(key);
          return () => {
            this.#paused.delete(key);
            this.#wake?.();
          };
        },
        commitOffsetsIfNecessary: async () => {
          if (resolved !== null && !isStale()) this.#markResolved(topic, partition, resolved);
          await this.#maybeCommit();
        },
        isRunning: () => this.#running,
        isStale,
      };
      await this.#run.eachBatch?.(payload);
      if (resolved === null && (this.#run.eachBatchAutoResolve ?? true)) resolveOffset(String(lastOffset));
    }
    if (resolved !== null && !isStale()) {
      this.#positions.set(key, (resolved as bigint) + 1n);
      this.#seeks.delete(key);
      this.#markResolved(topic, partition, resolved);
      await this.#maybeCommit();
    }
    this.#emit(CONSUMER_EVENTS.END_BATCH_PROCESS, {
      topic,
      partition,
      highWatermark: String(fetched.highWatermark),
      offsetLag: String(fetched.highWatermark - lastOffset - 1n),
      offsetLagLow: String(fetched.highWatermark - lastOffset - 1n),
      batchSize: messages.length,
      firstOffset: messages[0]?.offset ?? String(fetched.from),
      lastOffset: String(lastOffset),
      duration: Date.now() - started,
    });
  }

  #markResolved(topic: string, partition: number, offset: bigint): void {
    const key = keyOf(topic, partition);
    const previous = this.#resolved.get(key);
    if (previous === undefined || previous.next <= offset) {
      this.#resolved.set(key, { topic, partition, next: offset + 1n });
      this.#resolvedSinceCommit++;
    }
  }

  /** kafkajs's auto-commit policy: every resolve (threshold 1 or nothing set), or by count, or by time. */
  async #maybeCommit(): Promise<void> {
    if (!(this.#run.autoCommit ?? true)) return;
    const { autoCommitThreshold: threshold, autoCommitInterval: interval } = this.#run;
    const due =
      (threshold == null && interval == null) ||
      (threshold != null && this.#resolvedSinceCommit >= threshold) ||
      (interval != null && Date.now() - this.#lastCommitAt >= interval);
    if (due) await this.#commitResolved();
  }

  async #commitResolved(): Promise<void> {
    const offsets = [...this.#resolved]
      .filter(([key, r]) => (this.#committed.get(key) ?? -1n) < r.next)
      .map(([, r]) => ({ topic: r.topic, partition: r.partition, offset: r.next, leaderEpoch: -1 }));
    if (offsets.length === 0) return;
    await guarded(() => this.#client().commit({ offsets }));
    for (const o of offsets) this.#committed.set(keyOf(o.topic, o.partition), o.offset);
    this.#resolvedSinceCommit = 0;
    this.#lastCommitAt = Date.now();
  }
}
