import { RainstreamError } from '../errors.ts';
import type { IHeaders, Kafka, Message, Producer, RecordMetadata } from './client.ts';
import { Partitioners } from './client.ts';

/**
 * An idempotent producer (acks=all, broker-side de-duplication of retried sends) with the Java client's
 * murmur2 partitioner, so a key lands on the same partition whichever client wrote it.
 */
export function createProducer(kafka: Kafka, options: { transactionalId?: string } = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    // An idempotent producer retries a send without limit (the broker de-duplicates its retries); 2 s at
    // most between attempts, so a broker back after an outage is used again within 2 s, not 30.
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: Number.MAX_SAFE_INTEGER },
    ...(options.transactionalId ? { transactionalId: options.transactionalId } : {}),
  });
}

const keyPartitioner = Partitioners.DefaultPartitioner();

/**
 * The partition a keyed record lands on among `partitions`, as the producers here (and the Java client)
 * choose it: murmur2 of the key. Lets a producer tell, without reading the log, which partition's
 * position a record is judged against.
 */
export function partitionOfKey(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return keyPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}

/** The broker's default message.max.bytes is 1,048,588; this leaves room for batch and record overhead. */
export const BROKER_MAX_MESSAGE_BYTES = 1_000_000;
/** kafkajs puts one send's messages for a partition in one record batch: keep a send well below 1 MB. */
export const DEFAULT_MAX_SEND_BYTES = 512 * 1024;

const RECORD_OVERHEAD_BYTES = 24;

function byteLength(value: Buffer | string | null | undefined): number {
  if (value == null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

function headersBytes(headers: IHeaders | undefined): number {
  if (!headers) return 0;
  let total = 0;
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) total += Buffer.byteLength(name) + byteLength(v) + 8;
  }
  return total;
}

/** Upper bound of the bytes one message adds to a record batch. */
export function approximateMessageBytes(message: Message): number {
  return (
    RECORD_OVERHEAD_BYTES +
    byteLength(message.key) +
    byteLength(message.value) +
    headersBytes(message.headers)
  );
}

/**
 * Splits messages into consecutive chunks of at most `maxBytes` (by the estimate above), keeping their
 * order. A single message too large for the broker is refused here, by name, instead of crashing the
 * whole send.
 */
export function chunkMessages(messages: readonly Message[], maxBytes = DEFAULT_MAX_SEND_BYTES): Message[][] {
  const chunks: Message[][] = [];
  let current: Message[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const size = approximateMessageBytes(message);
    if (size > BROKER_MAX_MESSAGE_BYTES) {
      throw new RainstreamError('MESSAGE_TOO_LARGE', `a message of ~${size} bytes exceeds the broker limit`, {
        details: { bytes: size },
      });
    }
    if (current.length > 0 && currentBytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message);
    currentBytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Sends messages in bounded chunks, one after the other so that per-key order is kept. Resolves when
 * every chunk is acknowledged by all in-sync replicas.
 */
export async function sendBounded(
  producer: Producer,
  topic: string,
  messages: readonly Message[],
  options: { maxBytes?: number } = {},
): Promise<RecordMetadata[]> {
  const metadata: RecordMetadata[] = [];
  for (const chunk of chunkMessages(messages, options.maxBytes)) {
    metadata.push(...(await producer.send({ topic, messages: chunk })));
  }
  return metadata;
}
