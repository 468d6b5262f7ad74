/**
 * bench:kafka-clients — kafkajs 2.2.4 (the project's client, as lib/kafka configures it) against
 * @platformatic/kafka 2.x, the candidate second implementation of lib/kafka (issues 16 and 18), on the
 * running broker. Checks the features the stages need (idempotent produce, the murmur2 partitioner of
 * the Java client, consume-transform-produce exactly once with sendOffsets and read_committed, manual
 * commit after processing, static membership, the KIP-848 group protocol, the admin calls the project
 * makes), measures how fast a restarted member gets its partitions back after a SIGKILL, and the raw
 * produce/consume throughput of 145,460 records of 200 bytes, both clients in the same run.
 *
 *   npm run bench:kafka-clients      (KAFKA_BROKERS=... for another broker)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import {
  Admin as PltAdmin,
  compatibilityPartitioner,
  ConfigResourceTypes,
  Consumer as PltConsumer,
  defaultPartitioner,
  FetchIsolationLevels,
  GroupProtocols,
  type Message as PltMessage,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer as PltProducer,
} from '@platformatic/kafka';
import { loadConfig } from '../lib/platform/config.ts';
import { createKafkajs, Partitioners, type Message } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createLogger } from '../lib/platform/log.ts';
import type { MemberEvent, MemberSpec } from './lib/kafka-member.ts';
import { ROOT } from './lib/deployment.ts';
import { fmt, formatTable, progress, summaryLine } from './lib/report.ts';

const RECORDS = 145_460;
const RECORD_BYTES = 200;
/** Records per send: what the replay producer sends at once, under the broker's 1 MB batch limit. */
const SEND_RECORDS = 2_000;
const STATIONS = 49;
const PARTITIONS = 6;
const EOS_RECORDS = 3_000;
const ABORTED_RECORDS = 100;

// The local stack, unless a broker is named (another stack, or a throw-away one on other ports).
if (!process.env.KAFKA_BROKERS) {
  const stack = spawnSync('bash', ['ops/stack', 'up'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (stack.status !== 0) throw new Error('ops/stack up failed');
}

// kafkajs logs transient coordinator errors at ERROR while it retries them; stdout is for the tables.
const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'fatal' });
/** Which parts run (comma-separated; all by default): checks, takeover, throughput. */
const parts = new Set((process.env.BENCH_PARTS ?? 'checks,takeover,throughput').split(','));
const logger = createLogger(config);
const brokers = config.kafka.brokers;
const prefix = `bench-kc-${randomBytes(3).toString('hex')}`;
const kafka = createKafkajs(config, logger, { clientId: 'bench-kafkajs' });
const pltBase = { clientId: 'bench-platformatic', bootstrapBrokers: brokers };
// The package exports only its entry point (dist/index.js); its package.json sits one folder up.
const pltVersion = (
  JSON.parse(
    readFileSync(new URL('../package.json', import.meta.resolve('@platformatic/kafka')), 'utf8'),
  ) as {
    version: string;
  }
).version;

interface Verdict {
  ok: boolean;
  evidence: string;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function verdict(run: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await run();
  } catch (error) {
    return { ok: false, evidence: `failed: ${errorText(error).slice(0, 160)}` };
  }
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------------------------------ topics

const admin = kafka.admin();
const created: string[] = [];

async function createTopic(name: string, partitions = PARTITIONS): Promise<string> {
  const topic = `${prefix}.${name}`;
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
  created.push(topic);
  return topic;
}

async function highWatermarks(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

// ---------------------------------------------------------------------------------------- records

const payload = randomBytes(RECORDS * RECORD_BYTES);
const keys = Array.from({ length: STATIONS }, (_, i) => Buffer.from(`station-${String(i).padStart(2, '0')}`));
const recordAt = (i: number) => ({
  key: keys[i % STATIONS]!,
  value: payload.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES),
});

function chunksOf(count: number): { from: number; to: number }[] {
  const chunks: { from: number; to: number }[] = [];
  for (let from = 0; from < count; from += SEND_RECORDS) {
    chunks.push({ from, to: Math.min(count, from + SEND_RECORDS) });
  }
  return chunks;
}

/** Runs the sends with at most `inFlight` of them outstanding; resolves with the seconds taken. */
async function timedSends(
  count: number,
  inFlight: number,
  send: (from: number, to: number) => Promise<unknown>,
): Promise<number> {
  const chunks = chunksOf(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < chunks.length) {
        const { from, to } = chunks[next++]!;
        await send(from, to);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------------------- kafkajs: the project's

async function kafkajsProduce(topic: string, count: number, inFlight: number): Promise<number> {
  // createProducer is lib/kafka's: idempotent, one request in flight, the Java client's partitioner.
  const producer =
    inFlight === 1
      ? createProducer(kafka)
      : kafka.producer({
          idempotent: true,
          maxInFlightRequests: 5,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
  await producer.connect();
  try {
    return await timedSends(count, inFlight, (from, to) => {
      const messages: Message[] = [];
      for (let i = from; i < to; i++) messages.push(recordAt(i));
      return producer.send({ topic, messages });
    });
  } finally {
    await producer.disconnect();
  }
}

/** Seconds of one consume: from start to the last record, and the group join until the first one. */
interface ConsumeTime {
  total: number;
  toFirst: number;
}

async function kafkajsConsume(topic: string, count: number): Promise<ConsumeTime> {
  const consumer = kafka.consumer({ groupId: `${prefix}.tp-kafkajs-${randomBytes(2).toString('hex')}` });
  const started = performance.now();
  let first = 0;
  let seen = 0;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      first ||= performance.now();
      seen += batch.messages.length;
      if (seen >= count) finished();
    },
  });
  await deadline(done, 180_000, 'kafkajs consume');
  const ended = performance.now();
  await consumer.disconnect();
  return { total: (ended - started) / 1000, toFirst: (first - started) / 1000 };
}

/** Counts what a fresh group reads from the start, until nothing new came for idleMs. */
async function kafkajsReadAll(
  topic: string,
  readUncommitted: boolean,
  expected: number,
): Promise<{ count: number; sources: Set<string>; aborted: number }> {
  const consumer = kafka.consumer({
    groupId: `${prefix}.read-${randomBytes(3).toString('hex')}`,
    readUncommitted,
  });
  const sources = new Set<string>();
  let count = 0;
  let aborted = 0;
  let last = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        count++;
        if (m.value?.toString() === 'aborted') aborted++;
        const source = m.headers?.src?.toString();
        if (source) sources.add(source);
      }
      last = performance.now();
    },
  });
  await waitIdle(
    () => last,
    () => count >= expected,
  );
  await consumer.disconnect();
  return { count, sources, aborted };
}

/** Resolves once nothing arrived for a while: 1 s once `enough` holds, 8 s otherwise. */
async function waitIdle(lastArrival: () => number, enough: () => boolean): Promise<void> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const idle = performance.now() - lastArrival();
    if (idle > (enough() ? 1_000 : 8_000)) return;
  }
}

// -------------------------------------------------------------------------------------- platformatic

function pltProducer(extra: { transactionalId?: string } = {}): PltProducer {
  return new PltProducer({
    ...pltBase,
    idempotent: true,
    // The default hashes keys differently from the Java client (see the partitioner check).
    partitioner: compatibilityPartitioner,
    ...extra,
  });
}

async function pltProduce(topic: string, count: number, inFlight: number): Promise<number> {
  const producer = pltProducer();
  try {
    await producer.initIdempotentProducer({});
    return await timedSends(count, inFlight, (from, to) => {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ topic, ...recordAt(i) });
      return producer.send({ messages });
    });
  } finally {
    await producer.close();
  }
}

async function pltConsume(topic: string, count: number): Promise<ConsumeTime> {
  const consumer = new PltConsumer({
    ...pltBase,
    groupId: `${prefix}.tp-plt-${randomBytes(2).toString('hex')}`,
    maxWaitTime: 500,
  });
  const started = performance.now();
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
  let first = 0;
  let seen = 0;
  await deadline(
    new Promise<void>((resolve, reject) => {
      stream.on('data', () => {
        first ||= performance.now();
        if (++seen === count) resolve();
      });
      stream.on('error', reject);
    }),
    180_000,
    'platformatic consume',
  );
  const ended = performance.now();
  await consumer.close(true);
  return { total: (ended - started) / 1000, toFirst: (first - started) / 1000 };
}

async function pltReadAll(
  topic: string,
  isolationLevel: number,
  expected: number,
): Promise<{ count: number; sources: Set<string>; aborted: number }> {
  const consumer = new PltConsumer({
    ...pltBase,
    groupId: `${prefix}.read-${randomBytes(3).toString('hex')}`,
    isolationLevel,
    maxWaitTime: 500,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    isolationLevel,
  });
  const sources = new Set<string>();
  let count = 0;
  let aborted = 0;
  let last = performance.now();
  stream.on('data', (m: PltMessage) => {
    count++;
    if (m.value?.toString() === 'aborted') aborted++;
    const source = headerOf(m, 'src');
    if (source) sources.add(source);
    last = performance.now();
  });
  await waitIdle(
    () => last,
    () => count >= expected,
  );
  await consumer.close(true);
  return { count, sources, aborted };
}

function headerOf(m: PltMessage, name: string): string | undefined {
  for (const [k, v] of m.headerEntries) if (k.toString() === name) return v.toString();
  return undefined;
}

// ------------------------------------------------------------------------------------------- checks

async function checkIdempotent(client: 'kafkajs' | 'platformatic'): Promise<Verdict> {
  const topic = await createTopic(`idem-${client}`, 3);
  const count = 3_000;
  let producerId = '';
  if (client === 'kafkajs') {
    await kafkajsProduce(topic, count, 1);
  } else {
    const producer = pltProducer();
    const info = await producer.initIdempotentProducer({});
    producerId = ` producerId=${info.producerId}`;
    const messages = [];
    for (let i = 0; i < count; i++) messages.push({ topic, ...recordAt(i) });
    await producer.send({ messages });
    await producer.close();
  }
  const stored = await highWatermarks(topic);
  return { ok: stored === count, evidence: `${count} sent acks=all, ${stored} in the log${producerId}` };
}

/**
 * Where 2,000 keys land on 6 partitions, against the Java client's murmur2 (kafkajs's
 * DefaultPartitioner): the partitioner functions themselves, and records really produced by
 * @platformatic/kafka with compatibilityPartitioner, read back by kafkajs.
 */
async function checkPartitioner(): Promise<Verdict> {
  const java = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
    offlineReplicas: [],
  }));
  let sameCompat = 0;
  let sameDefault = 0;
  const total = 2_000;
  for (let i = 0; i < total; i++) {
    const key = Buffer.from(`station-${i}`);
    const expected = java({ topic: 't', partitionMetadata, message: { key, value: null } });
    // The producer takes the partitioner's number modulo the partition count.
    const message = { topic: 't', key };
    if (compatibilityPartitioner(message, key) % PARTITIONS === expected) sameCompat++;
    if (defaultPartitioner(message, key) % PARTITIONS === expected) sameDefault++;
  }
  const topic = await createTopic('partitioner', PARTITIONS);
  const producer = pltProducer();
  await producer.send({
    messages: Array.from({ length: total }, (_, i) => ({
      topic,
      key: Buffer.from(`station-${i}`),
      value: Buffer.from('x'),
    })),
  });
  await producer.close();
  const consumer = kafka.consumer({ groupId: `${prefix}.partitioner` });
  let produced = 0;
  let landedRight = 0;
  let last = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        produced++;
        const expected = java({ topic, partitionMetadata, message: { key: m.key, value: null } });
        if (expected === batch.partition) landedRight++;
      }
      last = performance.now();
    },
  });
  await waitIdle(
    () => last,
    () => produced >= total,
  );
  await consumer.disconnect();
  return {
    ok: sameCompat === total && landedRight === total,
    evidence:
      `compatibilityPartitioner ${sameCompat}/${total} keys as Java, produced ${landedRight}/${produced} ` +
      `on Java's partition; defaultPartitioner ${sameDefault}/${total}`,
  };
}

/**
 * Consume-transform-produce exactly once: an aborted transaction first (must stay invisible), then
 * every input batch's outputs and input offsets committed in one transaction. A read_committed reader
 * must see each input record exactly once and nothing aborted; the group's committed offsets must
 * reach the end of the input.
 */
async function checkTransactions(client: 'kafkajs' | 'platformatic'): Promise<Verdict> {
  const input = await createTopic(`eos-in-${client}`, 3);
  const output = await createTopic(`eos-out-${client}`, 3);
  await kafkajsProduce(input, EOS_RECORDS, 1);
  const groupId = `${prefix}.eos-${client}`;
  const transactionalId = `${prefix}-eos-${client}`;
  let transactions = 0;
  if (client === 'kafkajs') {
    const producer = createProducer(kafka, { transactionalId });
    await producer.connect();
    const abortedTx = await producer.transaction();
    await abortedTx.send({
      topic: output,
      messages: Array.from({ length: ABORTED_RECORDS }, () => ({ value: 'aborted' })),
    });
    await abortedTx.abort();
    const consumer = kafka.consumer({ groupId, readUncommitted: false });
    let processed = 0;
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    await consumer.connect();
    await consumer.subscribe({ topics: [input], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return;
        const tx = await producer.transaction();
        try {
          await tx.send({
            topic: output,
            messages: batch.messages.map((m) => ({
              key: m.key,
              value: m.value,
              headers: { src: `${batch.partition}:${m.offset}` },
            })),
          });
          await tx.sendOffsets({
            consumerGroupId: groupId,
            topics: [
              {
                topic: input,
                partitions: [{ partition: batch.partition, offset: String(BigInt(batch.lastOffset()) + 1n) }],
              },
            ],
          });
          await tx.commit();
        } catch (error) {
          await tx.abort();
          throw error;
        }
        transactions++;
        processed += batch.messages.length;
        if (processed >= EOS_RECORDS) finished();
      },
    });
    await deadline(done, 60_000, 'kafkajs transactional processing');
    await consumer.disconnect();
    await producer.disconnect();
  } else {
    const producer = pltProducer({ transactionalId });
    const abortedTx = await producer.beginTransaction();
    await abortedTx.send({
      messages: Array.from({ length: ABORTED_RECORDS }, () => ({
        topic: output,
        value: Buffer.from('aborted'),
      })),
    });
    await abortedTx.abort();
    const consumer = new PltConsumer({
      ...pltBase,
      groupId,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 500,
    });
    const stream = await consumer.consume({
      topics: [input],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    const commitBatch = async (batch: PltMessage[]) => {
      const tx = await producer.beginTransaction();
      try {
        await tx.addConsumer(consumer);
        await tx.send({
          messages: batch.map((m) => ({
            topic: output,
            key: m.key,
            value: m.value,
            // A Map of Buffers: string-named headers need header serializers, and without them this
            // send inside a transaction never settled (a plain send fails after its retries).
            headers: new Map([[Buffer.from('src'), Buffer.from(`${m.partition}:${m.offset}`)]]),
          })),
        });
        const lastOfPartition = new Map<number, PltMessage>();
        for (const m of batch) lastOfPartition.set(m.partition, m);
        for (const m of lastOfPartition.values()) await tx.addOffset(m);
        await tx.commit();
      } catch (error) {
        await tx.abort();
        throw error;
      }
      transactions++;
    };
    const processing = (async () => {
      let batch: PltMessage[] = [];
      let processed = 0;
      for await (const m of stream) {
        batch.push(m as PltMessage);
        processed++;
        if (batch.length >= 500 || processed >= EOS_RECORDS) {
          await commitBatch(batch);
          batch = [];
          if (processed >= EOS_RECORDS) return;
        }
      }
    })();
    try {
      await deadline(processing, 60_000, 'platformatic transactional processing');
    } finally {
      await consumer.close(true);
      await producer.close();
    }
  }
  const committed = await admin.fetchOffsets({ groupId, topics: [input] });
  const committedTotal = committed[0]!.partitions.reduce((s, p) => s + Number(p.offset), 0);
  const readCommitted =
    client === 'kafkajs'
      ? await kafkajsReadAll(output, false, EOS_RECORDS)
      : await pltReadAll(output, FetchIsolationLevels.READ_COMMITTED, EOS_RECORDS);
  const readUncommitted =
    client === 'kafkajs'
      ? await kafkajsReadAll(output, true, EOS_RECORDS + ABORTED_RECORDS)
      : await pltReadAll(output, FetchIsolationLevels.READ_UNCOMMITTED, EOS_RECORDS + ABORTED_RECORDS);
  const ok =
    readCommitted.count === EOS_RECORDS &&
    readCommitted.sources.size === EOS_RECORDS &&
    readCommitted.aborted === 0 &&
    readUncommitted.count === EOS_RECORDS + ABORTED_RECORDS &&
    committedTotal === EOS_RECORDS;
  return {
    ok,
    evidence:
      `${transactions} txns; read_committed ${readCommitted.count} (${readCommitted.sources.size} distinct, ` +
      `${readCommitted.aborted} aborted), read_uncommitted ${readUncommitted.count}, offsets ${committedTotal}/${EOS_RECORDS}`,
  };
}

/** Commit after processing, close, produce more: a new member of the group must get only the new ones. */
async function checkManualCommit(client: 'kafkajs' | 'platformatic'): Promise<Verdict> {
  const topic = await createTopic(`commit-${client}`, 3);
  const first = 1_000;
  const more = 100;
  await kafkajsProduce(topic, first, 1);
  const groupId = `${prefix}.commit-${client}`;
  const consumeOnce = async (expected: number): Promise<number> => {
    if (client === 'kafkajs') {
      const consumer = kafka.consumer({ groupId });
      let seen = 0;
      let last = performance.now();
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
          last = performance.now();
          await consumer.commitOffsets([
            { topic, partition: batch.partition, offset: String(BigInt(batch.lastOffset()) + 1n) },
          ]);
        },
      });
      await waitIdle(
        () => last,
        () => seen >= expected,
      );
      await consumer.disconnect();
      return seen;
    }
    const consumer = new PltConsumer({ ...pltBase, groupId, autocommit: false, maxWaitTime: 500 });
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    let seen = 0;
    let last = performance.now();
    const commits: Promise<void>[] = [];
    stream.on('data', (m: PltMessage) => {
      seen++;
      last = performance.now();
      commits.push(m.commit() as Promise<void>);
    });
    await waitIdle(
      () => last,
      () => seen >= expected,
    );
    await Promise.all(commits);
    await consumer.close(true);
    return seen;
  };
  const firstRun = await consumeOnce(first);
  await kafkajsProduce(topic, more, 1);
  const secondRun = await consumeOnce(more);
  return {
    ok: firstRun === first && secondRun === more,
    evidence: `first member read ${firstRun}/${first}; after a restart ${secondRun} (new: ${more})`,
  };
}

/** Two KIP-848 members on 6 partitions: the second gets its share without the first stopping. */
async function checkKip848(): Promise<Verdict> {
  const topic = await createTopic('kip848', PARTITIONS);
  const groupId = `${prefix}.kip848`;
  const member = () =>
    new PltConsumer({ ...pltBase, groupId, groupProtocol: GroupProtocols.CONSUMER, maxWaitTime: 500 });
  const owned = (c: PltConsumer) => (c.assignments ?? []).reduce((s, a) => s + a.partitions.length, 0);
  const first = member();
  const second = member();
  try {
    await first.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    await pollFor(() => owned(first) === PARTITIONS, 30_000, 'first KIP-848 member owns every partition');
    const joined = performance.now();
    await second.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    await pollFor(
      () => owned(second) > 0 && owned(first) + owned(second) === PARTITIONS,
      60_000,
      'partitions shared between the two KIP-848 members',
    );
    const seconds = (performance.now() - joined) / 1000;
    return {
      ok: true,
      evidence: `2nd member got ${owned(second)}/${PARTITIONS} partitions ${seconds.toFixed(1)} s after joining, 1st kept ${owned(first)}`,
    };
  } finally {
    await Promise.allSettled([first.close(true), second.close(true)]);
  }
}

async function pollFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const until = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The admin calls lib/kafka and ops make, and the ones the fault suite and tools need. */
async function checkAdmin(client: 'kafkajs' | 'platformatic'): Promise<Verdict> {
  const topic = `${prefix}.admin-${client}`;
  const groupId = `${prefix}.admin-${client}`;
  const results: [string, boolean][] = [];
  const notes: string[] = [];
  const step = async (name: string, run: () => Promise<boolean>) => {
    try {
      results.push([name, await run()]);
    } catch (error) {
      results.push([`${name} (${errorText(error).slice(0, 60)})`, false]);
    }
  };
  const beforeProduce = BigInt(Date.now() - 1_000);
  if (client === 'kafkajs') {
    const a = kafka.admin();
    await a.connect();
    try {
      await step('createTopics', async () =>
        a.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
        }),
      );
      await step('listTopics', async () => (await a.listTopics()).includes(topic));
      await step(
        'metadata',
        async () => (await a.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length === 3,
      );
      const retention = async () =>
        (
          await a.describeConfigs({
            includeSynonyms: false,
            resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
          })
        ).resources[0]!.configEntries[0]!.configValue;
      await step('describeConfigs', async () => (await retention()) === '-1');
      await step('alterConfigs', async () => {
        await a.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: topic,
              configEntries: [{ name: 'retention.ms', value: '86400000' }],
            },
          ],
        });
        return (await retention()) === '86400000';
      });
      await step('createPartitions', async () => {
        await a.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
        return (await a.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length === 4;
      });
      await kafkajsProduce(topic, 40, 1);
      // This admin, not the shared one: kafkajs keeps every topic it was asked about in its metadata
      // requests, and fails them all once that topic is deleted.
      await step(
        'listOffsets (latest)',
        async () => (await a.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0) === 40,
      );
      await step('listOffsets (by time)', async () =>
        (await a.fetchTopicOffsetsByTimestamp(topic, Number(beforeProduce))).every((o) => o.offset === '0'),
      );
      await step('alter group offsets', async () => {
        await a.setOffsets({
          groupId,
          topic,
          partitions: [0, 1, 2, 3].map((partition) => ({ partition, offset: '1' })),
        });
        return true;
      });
      await step('fetch group offsets', async () =>
        (await a.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.every((p) => p.offset === '1'),
      );
      await step('listGroups', async () => (await a.listGroups()).groups.some((g) => g.groupId === groupId));
      await step(
        'describeGroups',
        async () => (await a.describeGroups([groupId])).groups[0]!.groupId === groupId,
      );
      await step('deleteRecords', async () => {
        await a.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1' }] });
        return (await a.fetchTopicOffsets(topic)).find((o) => o.partition === 0)!.low === '1';
      });
      await step('deleteGroups', async () => (await a.deleteGroups([groupId]))[0]!.errorCode === 0);
      await step('deleteTopics', async () => {
        await a.deleteTopics({ topics: [topic] });
        return !(await a.listTopics()).includes(topic);
      });
    } finally {
      await a.disconnect();
    }
  } else {
    const a = new PltAdmin(pltBase);
    try {
      await step('createTopics', async () => {
        await a.createTopics({
          topics: [topic],
          partitions: 3,
          replicas: 1,
          configs: [{ name: 'retention.ms', value: '-1' }],
        });
        return true;
      });
      // createTopics has no waitForLeaders: the broker's metadata shows the topic a moment later.
      let listedAfterMs = 0;
      await step('listTopics', async () => {
        const since = performance.now();
        while (!(await a.listTopics()).includes(topic)) {
          if (performance.now() - since > 10_000) return false;
          await new Promise((r) => setTimeout(r, 50));
        }
        listedAfterMs = performance.now() - since;
        return true;
      });
      if (listedAfterMs > 0) notes.push(`topic listed ${listedAfterMs.toFixed(0)} ms after createTopics`);
      await step(
        'metadata',
        async () => (await a.metadata({ topics: [topic] })).topics.get(topic)!.partitionsCount === 3,
      );
      const retention = async () =>
        (
          await a.describeConfigs({
            resources: [
              {
                resourceType: ConfigResourceTypes.TOPIC,
                resourceName: topic,
                configurationKeys: ['retention.ms'],
              },
            ],
          })
        )[0]!.configs.find((c) => c.name === 'retention.ms')?.value;
      await step('describeConfigs', async () => (await retention()) === '-1');
      await step('alterConfigs', async () => {
        await a.alterConfigs({
          resources: [
            {
              resourceType: ConfigResourceTypes.TOPIC,
              resourceName: topic,
              configs: [{ name: 'retention.ms', value: '86400000' }],
            },
          ],
        });
        return (await retention()) === '86400000';
      });
      await step('createPartitions', async () => {
        await a.createPartitions({ topics: [{ name: topic, count: 4 }] });
        return (
          (await a.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)!.partitionsCount === 4
        );
      });
      await pltProduce(topic, 40, 1);
      const listed = async (timestamp: bigint) =>
        (
          await a.listOffsets({
            topics: [
              {
                name: topic,
                partitions: [0, 1, 2, 3].map((partitionIndex) => ({ partitionIndex, timestamp })),
              },
            ],
          })
        )[0]!.partitions;
      await step(
        'listOffsets (latest)',
        async () => (await listed(-1n)).reduce((s, p) => s + p.offset, 0n) === 40n,
      );
      await step('listOffsets (by time)', async () =>
        (await listed(beforeProduce)).every((p) => p.offset === 0n),
      );
      await step('alter group offsets', async () => {
        await a.alterConsumerGroupOffsets({
          groupId,
          topics: [
            { name: topic, partitionOffsets: [0, 1, 2, 3].map((partition) => ({ partition, offset: 1n })) },
          ],
        });
        return true;
      });
      await step('fetch group offsets', async () =>
        (await a.listConsumerGroupOffsets({ groups: [groupId] }))[0]!.topics
          .find((t) => t.name === topic)!
          .partitions.every((p) => p.committedOffset === 1n),
      );
      await step('listGroups', async () => (await a.listGroups()).has(groupId));
      await step('describeGroups', async () => (await a.describeGroups({ groups: [groupId] })).has(groupId));
      await step('deleteRecords', async () => {
        const deleted = await a.deleteRecords({
          topics: [{ name: topic, partitions: [{ partition: 0, offset: 1n }] }],
        });
        return deleted[0]!.partitions[0]!.lowWatermark === 1n;
      });
      await step('deleteGroups', async () => {
        await a.deleteGroups({ groups: [groupId] });
        return !(await a.listGroups()).has(groupId);
      });
      await step('deleteTopics', async () => {
        await a.deleteTopics({ topics: [topic] });
        return !(await a.listTopics()).includes(topic);
      });
    } finally {
      await a.close();
    }
  }
  const failed = results.filter(([, ok]) => !ok).map(([name]) => name);
  return {
    ok: failed.length === 0,
    evidence: [
      `${results.length - failed.length}/${results.length} calls`,
      ...(failed.length ? [`failed: ${failed.join(', ')}`] : []),
      ...notes,
    ].join('; '),
  };
}

const kafkajsSource = (path: string) => createRequire(import.meta.url).resolve(`kafkajs/src/${path}`);

/** kafkajs has the JoinGroup v5 field but never fills it: its consumer takes no instance id. */
function kafkajsStaticMembership(): Verdict {
  const source = (path: string) => readFileSync(kafkajsSource(path), 'utf8');
  const consumerPasses = /groupInstanceId/.test(
    source('consumer/consumerGroup.js') + source('consumer/index.js'),
  );
  const brokerPasses = /groupInstanceId/.test(source('broker/index.js'));
  const ok = consumerPasses && brokerPasses;
  return {
    ok,
    evidence: ok
      ? 'groupInstanceId passed by the consumer and Broker.joinGroup'
      : 'groupInstanceId only in the JoinGroup v5 encoder: no consumer option, Broker.joinGroup never sends it',
  };
}

/** KIP-848 needs the ConsumerGroupHeartbeat API; kafkajs implements the classic protocol only. */
function kafkajsKip848(): Verdict {
  const folderOf = (path: string) => dirname(kafkajsSource(path));
  const has = readdirSync(folderOf('protocol/requests/index.js')).some((r) =>
    /consumerGroupHeartbeat/i.test(r),
  );
  const assigners = readdirSync(folderOf('consumer/assigners/index.js')).filter((a) => a !== 'index.js');
  return {
    ok: has,
    evidence: `${has ? 'a' : 'no'} ConsumerGroupHeartbeat request in kafkajs; assigners: ${assigners.join(', ')} (eager)`,
  };
}

// ------------------------------------------------------------------------------------------ takeover

interface Member {
  process: ChildProcess;
  firstRecord: Map<number, number>;
  errors: string[];
}

function startMember(spec: MemberSpec): Member {
  const child = spawn(process.execPath, ['bench/lib/kafka-member.ts', JSON.stringify(spec)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const member: Member = { process: child, firstRecord: new Map(), errors: [] };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as MemberEvent;
    if (event.type === 'first-record') member.firstRecord.set(event.partition, event.at);
    else if (event.type === 'error') member.errors.push(event.message);
  });
  return member;
}

/** One record to every partition, so a member that owns a partition has something to read from it. */
async function touchEveryPartition(topic: string): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: 'tick' })),
  });
  await producer.disconnect();
}

/**
 * A member that owns every partition is SIGKILLed and a new process with the same spec started at
 * once: seconds from the kill until the new one has read from every partition.
 */
async function takeover(
  name: string,
  spec: Omit<MemberSpec, 'topic' | 'groupId' | 'brokers'>,
): Promise<number> {
  const topic = await createTopic(`takeover-${name}`, PARTITIONS);
  const full: MemberSpec = { ...spec, brokers, topic, groupId: `${prefix}.takeover-${name}` };
  await touchEveryPartition(topic);
  const first = startMember(full);
  await pollFor(
    () => first.firstRecord.size === PARTITIONS || first.errors.length > 0,
    60_000,
    `${name}: first member`,
  );
  if (first.errors.length > 0) throw new Error(first.errors[0]);
  // Past the first heartbeat, so the broker knows the member as fully joined.
  await new Promise((r) => setTimeout(r, 1_500));
  first.process.kill('SIGKILL');
  const killedAt = Date.now();
  const second = startMember(full);
  await touchEveryPartition(topic);
  try {
    await pollFor(
      () => second.firstRecord.size === PARTITIONS || second.errors.length > 0,
      120_000,
      `${name}: restarted member`,
    );
    if (second.errors.length > 0) throw new Error(second.errors[0]);
    return (Math.max(...second.firstRecord.values()) - killedAt) / 1000;
  } finally {
    second.process.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------- main

await admin.connect();
const cluster = await admin.describeCluster();
progress(
  `broker(s) ${brokers.join(',')} (cluster ${cluster.clusterId}); kafkajs 2.2.4, @platformatic/kafka ${pltVersion}`,
);

type Check = [name: string, kafkajs: Verdict, platformatic: Verdict];
type Takeover = [label: string, client: string, seconds: number | null, note: string];
type MemberSetup = Omit<MemberSpec, 'topic' | 'groupId' | 'brokers'>;

async function runChecks(): Promise<Check[]> {
  progress('feature checks');
  const checks: Check[] = [];
  const both = async (name: string, run: (c: 'kafkajs' | 'platformatic') => Promise<Verdict>) => {
    progress(`  ${name}`);
    const k = await verdict(() => run('kafkajs'));
    progress(`    kafkajs: ${k.ok ? 'yes' : 'no'}, ${k.evidence}`);
    const p = await verdict(() => run('platformatic'));
    progress(`    platformatic: ${p.ok ? 'yes' : 'no'}, ${p.evidence}`);
    checks.push([name, k, p]);
  };
  await both('idempotent produce', checkIdempotent);
  progress('  Java murmur2 partitioner');
  checks.push([
    'Java murmur2 partitioner',
    { ok: true, evidence: 'Partitioners.DefaultPartitioner (lib/kafka)' },
    await verdict(checkPartitioner),
  ]);
  await both('transactions + sendOffsets, read_committed', checkTransactions);
  await both('manual commit after processing', checkManualCommit);
  await both('admin calls', checkAdmin);
  progress('  KIP-848 consumer group protocol');
  checks.push(['KIP-848 group protocol (incremental)', kafkajsKip848(), await verdict(checkKip848)]);
  checks.push(['static membership (group.instance.id)', kafkajsStaticMembership(), staticVerdict(null)]);
  return checks;
}

/** platformatic's static membership is judged by its takeover: back before the old session expired. */
function staticVerdict(seconds: number | null): Verdict {
  return seconds === null
    ? { ok: false, evidence: 'see the takeover table (not measured, or failed)' }
    : { ok: seconds < 30, evidence: `restarted member back in ${seconds.toFixed(1)} s (session 30 s)` };
}

async function runTakeovers(): Promise<Takeover[]> {
  progress('takeover after SIGKILL (each waits out what it must)');
  const takeovers: Takeover[] = [];
  const measure = async (label: string, client: string, note: string, spec: MemberSetup) => {
    progress(`  ${label}`);
    try {
      const seconds = await takeover(label.replace(/\W+/g, '-'), spec);
      progress(`    ${seconds.toFixed(1)} s`);
      takeovers.push([label, client, seconds, note]);
    } catch (error) {
      progress(`    failed: ${errorText(error)}`);
      takeovers.push([label, client, null, `failed: ${errorText(error).slice(0, 100)}`]);
    }
  };
  await measure('kafkajs session 30 s', 'kafkajs', 'lib/kafka default today', {
    client: 'kafkajs',
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
  });
  await measure('kafkajs session 6 s', 'kafkajs', 'the broker minimum, group.min.session.timeout.ms', {
    client: 'kafkajs',
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
  });
  await measure('platformatic session 6 s', 'platformatic', 'classic protocol', {
    client: 'platformatic',
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
  });
  await measure(STATIC_LABEL, 'platformatic', 'classic protocol, group.instance.id', {
    client: 'platformatic',
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    groupInstanceId: 'bench-member-0',
  });
  // KIP-848 with a group.instance.id is no faster: the restarted member is refused with
  // UNRELEASED_INSTANCE_ID ("The instance ID is still used by another member") until the dead one's
  // session expires, so this measures the protocol's own session timeout, which the broker sets.
  await measure(
    'platformatic KIP-848',
    'platformatic',
    'broker group.consumer.session.timeout.ms (45 s default and minimum)',
    { client: 'platformatic', sessionTimeoutMs: 0, heartbeatIntervalMs: 0, groupProtocol: 'consumer' },
  );
  return takeovers;
}

const STATIC_LABEL = 'platformatic static, session 30 s';

interface Throughput {
  produce: Record<'kafkajs' | 'platformatic', number[]>;
  produce4: Record<'kafkajs' | 'platformatic', number>;
  consume: Record<'kafkajs' | 'platformatic', ConsumeTime[]>;
}

async function runThroughput(): Promise<Throughput> {
  progress(
    `throughput: ${RECORDS} records of ${RECORD_BYTES} bytes, ${SEND_RECORDS} per send, acks=all, idempotent`,
  );
  const result: Throughput = {
    produce: { kafkajs: [], platformatic: [] },
    produce4: { kafkajs: NaN, platformatic: NaN },
    consume: { kafkajs: [], platformatic: [] },
  };
  // A-B-B-A order and the better of two runs each: the machine is shared and its load drifts.
  const order = ['kafkajs', 'platformatic', 'platformatic', 'kafkajs'] as const;
  let source = '';
  for (const client of order) {
    const topic = await createTopic(`tp-${client}-${result.produce[client].length}`);
    source ||= topic;
    const seconds =
      client === 'kafkajs' ? await kafkajsProduce(topic, RECORDS, 1) : await pltProduce(topic, RECORDS, 1);
    result.produce[client].push(seconds);
    progress(`  produce ${client}: ${seconds.toFixed(2)} s`);
  }
  for (const client of ['kafkajs', 'platformatic'] as const) {
    const topic = await createTopic(`tp4-${client}`);
    result.produce4[client] =
      client === 'kafkajs' ? await kafkajsProduce(topic, RECORDS, 4) : await pltProduce(topic, RECORDS, 4);
    progress(`  produce ${client}, 4 sends in flight: ${result.produce4[client].toFixed(2)} s`);
  }
  for (const client of order) {
    const time =
      client === 'kafkajs' ? await kafkajsConsume(source, RECORDS) : await pltConsume(source, RECORDS);
    result.consume[client].push(time);
    progress(
      `  consume ${client}: ${time.total.toFixed(2)} s (first record after ${time.toFirst.toFixed(2)} s)`,
    );
  }
  return result;
}

try {
  const checks = parts.has('checks') ? await runChecks() : [];
  const takeovers = parts.has('takeover') ? await runTakeovers() : [];
  const takeoverOf = (label: string) => takeovers.find(([l]) => l === label)?.[2] ?? null;
  const staticCheck = checks.find(([name]) => name.startsWith('static membership'));
  if (staticCheck) staticCheck[2] = staticVerdict(takeoverOf(STATIC_LABEL));
  const throughput = parts.has('throughput') ? await runThroughput() : null;
  const best = (xs: number[] | undefined) => (xs && xs.length > 0 ? Math.min(...xs) : NaN);

  console.log(
    `\nbench:kafka-clients — kafkajs 2.2.4 vs @platformatic/kafka ${pltVersion}, broker ${brokers.join(',')}\n`,
  );
  if (checks.length > 0) {
    console.log(
      formatTable(
        ['feature', 'kafkajs', 'evidence', 'platformatic', 'evidence '],
        checks.map(([name, k, p]) => [
          name,
          k.ok ? 'yes' : 'no',
          k.evidence,
          p.ok ? 'yes' : 'no',
          p.evidence,
        ]),
      ),
    );
    console.log('');
  }
  if (takeovers.length > 0) {
    console.log(
      formatTable(
        ['takeover after SIGKILL', 'client', 'seconds', 'note'],
        takeovers.map(([label, client, seconds, note]) => [label, client, fmt(seconds, 1), note]),
      ),
    );
    console.log('');
  }
  if (throughput) {
    const row = (name: string, k: number, p: number, rated = true) => [
      name,
      fmt(k, 2),
      rated ? fmt(RECORDS / k, 0) : '-',
      fmt(p, 2),
      rated ? fmt(RECORDS / p, 0) : '-',
    ];
    const consumeBest = (client: 'kafkajs' | 'platformatic', part: (t: ConsumeTime) => number) =>
      best(throughput.consume[client].map(part));
    console.log(
      formatTable(
        ['throughput', 'kafkajs s', 'kafkajs rec/s', 'platformatic s', 'platformatic rec/s'],
        [
          row(
            'produce, 1 send in flight (best of 2)',
            best(throughput.produce.kafkajs),
            best(throughput.produce.platformatic),
          ),
          row('produce, 4 sends in flight', throughput.produce4.kafkajs, throughput.produce4.platformatic),
          row(
            'consume, new group: start → last record (best of 2)',
            consumeBest('kafkajs', (t) => t.total),
            consumeBest('platformatic', (t) => t.total),
          ),
          row(
            '  of which first → last record',
            consumeBest('kafkajs', (t) => t.total - t.toFirst),
            consumeBest('platformatic', (t) => t.total - t.toFirst),
          ),
          row(
            '  of which start (join) → first record',
            consumeBest('kafkajs', (t) => t.toFirst),
            consumeBest('platformatic', (t) => t.toFirst),
            false,
          ),
        ],
      ),
    );
    console.log('');
  }
  console.log(
    summaryLine('kafka-clients', {
      records: throughput ? RECORDS : null,
      kafkajs_produce_s: best(throughput?.produce.kafkajs),
      plt_produce_s: best(throughput?.produce.platformatic),
      kafkajs_produce4_s: throughput?.produce4.kafkajs,
      plt_produce4_s: throughput?.produce4.platformatic,
      kafkajs_consume_s: best(throughput?.consume.kafkajs.map((t) => t.total)),
      plt_consume_s: best(throughput?.consume.platformatic.map((t) => t.total)),
      kafkajs_consume_read_s: best(throughput?.consume.kafkajs.map((t) => t.total - t.toFirst)),
      plt_consume_read_s: best(throughput?.consume.platformatic.map((t) => t.total - t.toFirst)),
      kafkajs_takeover_30s_s: takeoverOf('kafkajs session 30 s'),
      kafkajs_takeover_6s_s: takeoverOf('kafkajs session 6 s'),
      plt_takeover_6s_s: takeoverOf('platformatic session 6 s'),
      plt_static_takeover_s: takeoverOf(STATIC_LABEL),
      plt_kip848_takeover_s: takeoverOf('platformatic KIP-848'),
      kafkajs_checks_passed: checks.length ? checks.filter(([, k]) => k.ok).length : null,
      plt_checks_passed: checks.length ? checks.filter(([, , p]) => p.ok).length : null,
      checks: checks.length || null,
    }),
  );
} finally {
  progress('removing the bench topics and groups');
  const groups = (await admin.listGroups()).groups
    .map((g) => g.groupId)
    .filter((g) => g.startsWith(`${prefix}.`));
  // Groups whose last member was SIGKILLed stay non-empty until their session expires: best effort.
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  const present = new Set(await admin.listTopics());
  const ours = created.filter((t) => present.has(t));
  if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
  await admin.disconnect();
}
