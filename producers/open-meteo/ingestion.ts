/**
 * The Kafka side of the Open-Meteo ingestion: raw answers to the raw topic, mapped days to the
 * observations topic, rejections and conflicts to the DLQ, and the ingestion state beside them.
 *
 * Each (station, date) goes on the observations topic once:
 * - One writer per station. Each station has its own transactional id (`<prefix>.open-meteo.<station>`);
 *   opening it fences any other process still holding it (the broker aborts that one's open
 *   transaction and refuses its later writes), and only then is the state read.
 * - The state (ingestion-state.ts) is read from its compacted topic to its end, committed records only,
 *   and is rewritten in the same transaction as the observations it adds: either both are on the log
 *   or neither is. A crash between fetching and committing leaves nothing a reader sees, and the next
 *   run fetches the day again.
 * - Retried sends within a transaction are de-duplicated by the broker (idempotent producer).
 * - A day already ingested with the same values is skipped; with other values it goes to the DLQ with
 *   both versions (the features stage would refuse it as a duplicate anyway).
 *
 * Every answer is written to the raw topic (idempotent producer, acknowledged by all in-sync replicas)
 * before it is mapped, so an answer the mapping chokes on is kept for `ingest remap`. Not in the days'
 * transaction: an answer is worth keeping even when its days never make it, and a second transaction
 * right after the first one's commit would wait for the coordinator to finish that one.
 */
import type { EventCodec, Observation } from '../../lib/domain/events.ts';
import type { Topics } from '../../lib/platform/config.ts';
import { describeError, RainstreamError } from '../../lib/platform/errors.ts';
import type { IHeaders, Kafka, Message, Producer } from '../../lib/platform/kafka/client.ts';
import { DLQ_HEADERS, toDlqMessage } from '../../lib/platform/kafka/dlq.ts';
import { chunkMessages, createProducer, sendBounded } from '../../lib/platform/kafka/producer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import type { FetchFailure, RawAnswer } from './fetch-days.ts';
import {
  emptyIngestionState,
  fingerprintObservation,
  fromStateRecord,
  judgeDays,
  toStateRecord,
  withIngestedDays,
  type StationIngestionState,
} from './ingestion-state.ts';
import { readOffsets, readTopicToEnd } from './log-reader.ts';
import type { DayRejection } from './mapping.ts';

/** Header of an Open-Meteo DLQ record: the request URL of the answer (or failed call) at its origin. */
export const DLQ_SOURCE_URL_HEADER = 'rainstream-source-url';

export interface IngestionDeps {
  kafka: Kafka;
  codec: EventCodec;
  topics: Pick<Topics, 'observations' | 'observationsDlq' | 'openMeteoRaw' | 'openMeteoState'>;
  logger: Logger;
  /** A station's transactional id is `<prefix>.open-meteo.<station>`: the deployment's topic prefix. */
  transactionalIdPrefix: string;
  /** Epoch ms, for the state's `updatedAt`. */
  now?: () => number;
}

/** Where a record is: `<topic>:<partition>:<offset>`, as the observations' sourcePosition says it. */
export interface LogPosition {
  topic: string;
  partition: number;
  offset: string;
}

export function positionText(p: LogPosition): string {
  return `${p.topic}:${p.partition}:${p.offset}`;
}

export interface DaysOutcome {
  /** Days put on the observations topic. */
  ingested: number;
  /** Days already there with the same values: skipped. */
  identical: number;
  /** Days already there with other values: to the DLQ. */
  conflicts: number;
  /** Days the mapping rejected: to the DLQ. */
  rejected: number;
}

export function emptyOutcome(): DaysOutcome {
  return { ingested: 0, identical: 0, conflicts: 0, rejected: 0 };
}

export function addOutcome(into: DaysOutcome, more: DaysOutcome): DaysOutcome {
  into.ingested += more.ingested;
  into.identical += more.identical;
  into.conflicts += more.conflicts;
  into.rejected += more.rejected;
  return into;
}

export interface MappedAnswer {
  observations: readonly Observation[];
  rejections: readonly DayRejection[];
}

export interface StationIngestion {
  readonly station: string;
  /** As of the last commit of this process (or the read at opening). */
  state(): StationIngestionState;
  /** Writes one answer to the raw topic; resolves with where it is once it is durable. */
  writeRaw(raw: RawAnswer): Promise<LogPosition>;
  /** Commits the days mapped from the raw answer at `source`: new ones, rejections, conflicts, state. */
  ingestDays(source: LogPosition, url: string, mapped: MappedAnswer): Promise<DaysOutcome>;
  /** Sends the calls that failed for good (refused by the API) to the DLQ, sourced by URL. */
  rejectFailures(failures: readonly FetchFailure[]): Promise<number>;
}

export interface Ingestion {
  readonly stations: ReadonlyMap<string, StationIngestion>;
  close(): Promise<void>;
}

type Transaction = Awaited<ReturnType<Producer['transaction']>>;

/** The error and what it wraps (kafkajs wraps broker errors in its retrier's, as `originalError`). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let e = error;
  while (e && chain.length < 16) {
    chain.push(e);
    const link = e as { cause?: unknown; originalError?: unknown };
    e = link.cause ?? link.originalError;
  }
  return chain;
}

/** The broker refused our producer epoch: another process opened this station's transactional id. */
export function isFenced(error: unknown): boolean {
  return causes(error).some((e) => {
    const { type, code, message } = (e ?? {}) as { type?: unknown; code?: unknown; message?: unknown };
    return (
      type === 'INVALID_PRODUCER_EPOCH' ||
      type === 'PRODUCER_FENCED' ||
      code === 47 ||
      code === 90 ||
      (typeof message === 'string' && /producer_fenced|old epoch|has been fenced/i.test(message))
    );
  });
}

export function transactionalIdOf(prefix: string, station: string): string {
  return `${prefix}.open-meteo.${station}`;
}

/** Reads every station's latest state from the state topic, committed records only. */
export async function readIngestionStates(
  deps: Pick<IngestionDeps, 'kafka' | 'codec' | 'topics' | 'logger'>,
): Promise<Map<string, StationIngestionState>> {
  const latest = new Map<string, Buffer | null>();
  await readTopicToEnd(
    deps.kafka,
    deps.topics.openMeteoState,
    (records) => {
      for (const r of records) if (r.key) latest.set(r.key.toString(), r.value);
    },
    deps.logger,
  );
  const states = new Map<string, StationIngestionState>();
  for (const [station, value] of latest) {
    if (value === null) continue;
    const state = fromStateRecord(await deps.codec.decode('openMeteoState', value));
    if (state.station !== station) {
      throw new RainstreamError('DECODE', `state keyed ${station} is the state of ${state.station}`);
    }
    states.set(station, state);
  }
  return states;
}

async function openProducer(kafka: Kafka, transactionalId: string): Promise<Producer> {
  const producer = createProducer(kafka, { transactionalId });
  await producer.connect();
  try {
    // The first transaction registers the id with the coordinator, which aborts what an earlier holder
    // left open and fences it; an empty one ends without a round trip to the partitions.
    const fence = await producer.transaction();
    await fence.abort();
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  return producer;
}

function kafkaError(what: string, error: unknown): RainstreamError {
  if (error instanceof RainstreamError) return error;
  const fenced = isFenced(error);
  return new RainstreamError('KAFKA', `${what}: ${describeError(error)}`, {
    cause: error,
    retriable: !fenced,
    details: { fenced },
  });
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * Opens the ingestion of `stations`: a fenced transactional producer for each, then their states read
 * from the state topic (after fencing, so nothing another process committed is missed).
 */
export async function openIngestion(stations: readonly string[], deps: IngestionDeps): Promise<Ingestion> {
  const { kafka, codec, topics } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'open-meteo-ingestion' });
  const producers = new Map<string, Producer>();
  // Raw answers and refused calls: durable at once, in no transaction (see the header).
  const plain = createProducer(kafka);
  const close = async () => {
    await Promise.allSettled([plain, ...producers.values()].map((p) => p.disconnect()));
  };
  let states: Map<string, StationIngestionState>;
  try {
    await plain.connect();
    for (const station of stations) {
      producers.set(
        station,
        await openProducer(kafka, transactionalIdOf(deps.transactionalIdPrefix, station)),
      );
    }
    states = await readIngestionStates(deps);
  } catch (error) {
    await close();
    throw kafkaError('opening the Open-Meteo ingestion', error);
  }

  const ingestionOf = (station: string): StationIngestion => {
    let state = states.get(station) ?? emptyIngestionState(station);
    const stationKey = Buffer.from(station, 'utf8');

    /** After another process fenced us: take the id back and re-read what it may have committed. */
    const reopen = async () => {
      await producers
        .get(station)!
        .disconnect()
        .catch(() => undefined);
      producers.set(
        station,
        await openProducer(kafka, transactionalIdOf(deps.transactionalIdPrefix, station)),
      );
      state = (await readIngestionStates(deps)).get(station) ?? emptyIngestionState(station);
      log.warn(
        { station },
        'another ingestion of this station took over; took it back and re-read its state',
      );
    };

    /** Runs `work` in one transaction; after a fence, once more on a re-opened producer and state. */
    const transact = async <T>(what: string, work: (txn: Transaction) => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        let txn: Transaction | undefined;
        try {
          txn = await producers.get(station)!.transaction();
          const result = await work(txn);
          await txn.commit();
          return result;
        } catch (error) {
          if (txn?.isActive()) await txn.abort().catch(() => undefined);
          if (attempt < 2 && isFenced(error)) {
            await reopen();
            continue;
          }
          throw kafkaError(`${what} for ${station}`, error);
        }
      }
    };

    const send = async (txn: Transaction, topic: string, messages: readonly Message[]) => {
      const metadata = [];
      for (const chunk of chunkMessages(messages))
        metadata.push(...(await txn.send({ topic, messages: chunk })));
      return metadata;
    };

    /** A DLQ record whose source is a record of the raw topic (the answer the day was mapped from). */
    const dlqFromRaw = (source: LogPosition, url: string, value: unknown, reason: string, field: string) => {
      const message = toDlqMessage({
        record: {
          topic: source.topic,
          partition: source.partition,
          offset: source.offset,
          key: stationKey,
          value: json(value),
          headers: {},
          timestamp: now(),
        },
        reason,
        field,
      });
      return { ...message, headers: { ...(message.headers as IHeaders), [DLQ_SOURCE_URL_HEADER]: url } };
    };

    /** The versions already on the observations topic of days now in conflict, by offset. */
    const versionsOnTopic = async (offsets: readonly number[]): Promise<Map<number, Observation>> => {
      const found = new Map<number, Observation>();
      if (offsets.length === 0 || state.observationsPartition < 0) return found;
      const records = await readOffsets(
        kafka,
        topics.observations,
        state.observationsPartition,
        offsets.map((o) => BigInt(o)),
        deps.logger,
      );
      for (const [offset, record] of records) {
        if (record.value) found.set(Number(offset), await codec.decode('observation', record.value));
      }
      return found;
    };

    return {
      station,
      state: () => state,

      async writeRaw(raw) {
        if (raw.station.name !== station) {
          throw new RainstreamError('INTERNAL', `an answer for ${raw.station.name} given to ${station}`);
        }
        const value = codec.encode('openMeteoRaw', {
          station,
          latitude: raw.station.latitude,
          longitude: raw.station.longitude,
          timezone: raw.station.timezone,
          mode: raw.mode,
          from: raw.from,
          to: raw.to,
          url: raw.url,
          status: raw.status,
          contentType: raw.contentType,
          body: raw.body,
          fetchedAt: raw.fetchedAt,
          attempts: raw.attempts,
        });
        try {
          const [meta] = await sendBounded(plain, topics.openMeteoRaw, [{ key: stationKey, value }]);
          return { topic: topics.openMeteoRaw, partition: meta!.partition, offset: meta!.baseOffset! };
        } catch (error) {
          throw kafkaError(`writing a raw answer of ${station}`, error);
        }
      },

      async ingestDays(source, url, mapped) {
        return transact('ingesting days', async (txn) => {
          const judged = judgeDays(state, mapped.observations);
          const outcome: DaysOutcome = {
            ingested: judged.fresh.length,
            identical: judged.identical.length,
            conflicts: judged.conflicts.length,
            rejected: mapped.rejections.length,
          };
          const dlq: Message[] = mapped.rejections.map((r) =>
            dlqFromRaw(source, url, { ...r, url }, r.reason, r.field),
          );
          if (judged.conflicts.length > 0) {
            const onTopic = await versionsOnTopic(judged.conflicts.map((c) => c.existing.offset));
            for (const { observation, existing } of judged.conflicts) {
              const where = `${topics.observations}:${state.observationsPartition}:${existing.offset}`;
              dlq.push(
                dlqFromRaw(
                  source,
                  url,
                  {
                    station,
                    date: observation.date,
                    onTopic: { position: where, observation: onTopic.get(existing.offset) ?? null },
                    rejected: { position: positionText(source), observation },
                  },
                  `conflicting duplicate of (${station}, ${observation.date}): already on the observations topic at ${where} with other values`,
                  'date',
                ),
              );
            }
          }
          if (judged.fresh.length === 0 && dlq.length === 0) return { outcome, next: state };
          let next = state;
          if (judged.fresh.length > 0) {
            const sourcePosition = positionText(source);
            const messages = judged.fresh.map((o) => ({
              key: stationKey,
              value: codec.encode('observation', { ...o, sourcePosition }),
            }));
            const metadata = await send(txn, topics.observations, messages);
            if (metadata.length !== 1) {
              throw new RainstreamError(
                'INTERNAL',
                `one station's days landed in ${metadata.length} partitions`,
              );
            }
            const base = Number(metadata[0]!.baseOffset);
            next = withIngestedDays(
              state,
              metadata[0]!.partition,
              judged.fresh.map((o, i) => ({
                date: o.date,
                fingerprint: fingerprintObservation(o),
                offset: base + i,
              })),
            );
            await send(txn, topics.openMeteoState, [
              { key: stationKey, value: codec.encode('openMeteoState', toStateRecord(next, now())) },
            ]);
          }
          if (dlq.length > 0) await send(txn, topics.observationsDlq, dlq);
          return { outcome, next };
        }).then(({ outcome, next }) => {
          state = next;
          return outcome;
        });
      },

      async rejectFailures(failures) {
        const final = failures.filter((f) => !f.retriable);
        if (final.length === 0) return 0;
        const messages: Message[] = final.map((f) => ({
          key: stationKey,
          value: json(f),
          headers: {
            [DLQ_HEADERS.reason]: f.reason.slice(0, 1_000),
            [DLQ_HEADERS.field]: 'request',
            [DLQ_HEADERS.sourceTopic]: f.url ?? '',
            [DLQ_SOURCE_URL_HEADER]: f.url ?? '',
          },
        }));
        try {
          await sendBounded(plain, topics.observationsDlq, messages);
        } catch (error) {
          throw kafkaError(`rejecting failed calls of ${station}`, error);
        }
        return final.length;
      },
    };
  };

  return {
    stations: new Map(stations.map((s) => [s, ingestionOf(s)])),
    close,
  };
}
