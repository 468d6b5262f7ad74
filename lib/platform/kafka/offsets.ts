/**
 * Where things stand in the log: a group's committed offsets and a topic's end offsets, through one
 * admin connection kept open (kafkajs reconnects it when the broker comes back). Failures are typed:
 * Kafka being away is retriable.
 */
import { isRetriable, RainstreamError } from '../errors.ts';
import type { Admin, Kafka } from './client.ts';

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
