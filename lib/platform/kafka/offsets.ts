/**
 * Where things stand in the log: a group's committed offsets and a topic's end offsets, through one
 * admin connection kept open (kafkajs reconnects it when the broker comes back). Failures are typed:
 * Kafka being away is retriable.
 */
import { isRetriable, RainstreamError } from '../errors.ts';
import type { Admin, Kafka } from './client.ts';
import { platformaticWatermarks } from './platformatic.ts';

export interface LogPositions {
  /** The group's committed offset of a partition; null when it never committed there. */
  committed(groupId: string, topic: string, partition: number): Promise<bigint | null>;
  /** Per partition: the offset the next record will get (high watermark), and the first kept. */
  ends(topic: string): Promise<Map<number, { low: bigint; high: bigint }>>;
  close(): Promise<void>;
}

export function kafkaError(error: unknown, what: string): RainstreamError {
  if (error instanceof RainstreamError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RainstreamError('KAFKA', `${what}: ${message}`, { cause: error, retriable: isRetriable(error) });
}

export function createLogPositions(kafka: Kafka): LogPositions {
  let admin: Promise<Admin> | null = null;
  const connected = () => {
    admin ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })().catch((error: unknown) => {
      admin = null;
      throw error;
    });
    return admin;
  };
  const call = async <T>(what: string, fn: (a: Admin) => Promise<T>): Promise<T> => {
    try {
      return await fn(await connected());
    } catch (error) {
      throw kafkaError(error, what);
    }
  };
  return {
    committed: (groupId, topic, partition) =>
      call(`committed offset of ${groupId} on ${topic}[${partition}]`, async (a) => {
        const [entry] = await a.fetchOffsets({ groupId, topics: [topic] });
        const found = entry?.partitions.find((p) => p.partition === partition);
        const offset = found === undefined ? -1n : BigInt(found.offset);
        return offset < 0n ? null : offset;
      }),
    ends: (topic) =>
      call(`end offsets of ${topic}`, async (a) => {
        const offsets = await a.fetchTopicOffsets(topic);
        return new Map(
          offsets.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }] as const),
        );
      }),
    async close() {
      const pending = admin;
      admin = null;
      const a = await pending?.catch(() => null);
      await a?.disconnect().catch(() => undefined);
    },
  };
}

/** What reading high watermarks needs of a kafkajs cluster (kafkajs/src/cluster). */
interface OffsetsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  fetchTopicsOffset(
    query: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

const READ_UNCOMMITTED = 0;

/**
 * kafkajs has no public way to ask for offsets at READ_UNCOMMITTED, so the cluster is built by the same
 * private factory its admin uses, found by its description.
 */
function uncommittedCluster(kafka: Kafka): OffsetsCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const create = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function') {
    throw new RainstreamError('INTERNAL', 'this kafkajs has no cluster factory to read high watermarks with');
  }
  return create.call(kafka, {
    allowAutoTopicCreation: false,
    isolationLevel: READ_UNCOMMITTED,
  }) as OffsetsCluster;
}

/**
 * Each partition of `topic` now: its first offset still held and its high watermark. The admin's
 * `fetchTopicOffsets` asks at READ_COMMITTED, which is the last stable offset: it stops at the first
 * transaction still open, and right after a commit (whose markers the coordinator writes a moment later)
 * before that very transaction. A reader that wants every record committed before the call reads to the
 * high watermark (a read-committed consumer waits for open transactions to end there).
 */
export async function highWatermarks(
  kafka: Kafka,
  topic: string,
): Promise<Map<number, { low: bigint; high: bigint }>> {
  try {
    const platformatic = await platformaticWatermarks(kafka, topic);
    if (platformatic) return platformatic;
    const cluster = uncommittedCluster(kafka);
    await cluster.connect();
    try {
      await cluster.addTargetTopic(topic);
      await cluster.refreshMetadataIfNecessary();
      const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
      const offsets = async (fromBeginning: boolean) =>
        new Map(
          (await cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions }]))[0]!.partitions.map(
            (p) => [p.partition, BigInt(p.offset)] as const,
          ),
        );
      const [low, high] = [await offsets(true), await offsets(false)];
      return new Map([...high].map(([p, h]) => [p, { low: low.get(p) ?? 0n, high: h }]));
    } finally {
      await cluster.disconnect();
    }
  } catch (error) {
    throw kafkaError(error, `log ends of ${topic}`);
  }
}
