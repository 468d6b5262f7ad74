/**
 * One consumer-group member in a process of its own, for bench:kafka-clients' takeover measurement: the
 * parent SIGKILLs one and starts the next, and reads from stdout, one JSON line each, when this member
 * got each partition's first record. Runs until killed.
 *
 *   node bench/lib/kafka-member.ts '<MemberSpec as JSON>'
 */
import {
  Consumer,
  GroupProtocols,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';

export interface MemberSpec {
  client: 'kafkajs' | 'platformatic';
  brokers: string[];
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Static membership (KIP-345): the broker hands a returning instance its partitions back. */
  groupInstanceId?: string;
  /** platformatic only: 'consumer' is the KIP-848 protocol (server-side assignment, Kafka 4). */
  groupProtocol?: 'classic' | 'consumer';
}

export type MemberEvent =
  | { type: 'started'; at: number }
  | { type: 'first-record'; partition: number; at: number }
  | { type: 'error'; message: string };

/** The message with what the client nests under it (@platformatic/kafka keeps the broker's error there). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const nested = (error as Error & { errors?: unknown[] }).errors ?? (error.cause ? [error.cause] : []);
  const inner = nested.map(describe).filter(Boolean);
  return inner.length > 0 ? `${error.message} (${inner.join('; ')})` : error.message;
}

function emit(event: MemberEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function runKafkajs(spec: MemberSpec, onRecord: (partition: number) => void): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-member', brokers: spec.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: spec.groupId,
    sessionTimeout: spec.sessionTimeoutMs,
    heartbeatInterval: spec.heartbeatIntervalMs,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [spec.topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (batch.messages.length > 0) onRecord(batch.partition);
    },
  });
}

async function runPlatformatic(spec: MemberSpec, onRecord: (partition: number) => void): Promise<void> {
  const group =
    spec.groupProtocol === 'consumer'
      ? { groupProtocol: GroupProtocols.CONSUMER, groupInstanceId: spec.groupInstanceId }
      : {
          groupProtocol: GroupProtocols.CLASSIC,
          groupInstanceId: spec.groupInstanceId,
          sessionTimeout: spec.sessionTimeoutMs,
          heartbeatInterval: spec.heartbeatIntervalMs,
        };
  const consumer = new Consumer({
    clientId: 'bench-member',
    bootstrapBrokers: spec.brokers,
    groupId: spec.groupId,
    maxWaitTime: 500,
    ...group,
  });
  const stream = await consumer.consume({
    topics: [spec.topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
  });
  stream.on('data', (message) => onRecord(message.partition));
  stream.on('error', (error: Error) => emit({ type: 'error', message: describe(error) }));
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as MemberSpec;
  emit({ type: 'started', at: Date.now() });
  const seen = new Set<number>();
  const onRecord = (partition: number) => {
    if (seen.has(partition)) return;
    seen.add(partition);
    emit({ type: 'first-record', partition, at: Date.now() });
  };
  const run = spec.client === 'kafkajs' ? runKafkajs : runPlatformatic;
  run(spec, onRecord).catch((error: unknown) => {
    emit({ type: 'error', message: describe(error) });
    process.exit(1);
  });
}
