/**
 * The Open-Meteo ingestion on a test deployment of the real stack: the stand-in API on a virtual clock
 * (harness.ts), the ingestion opened on the test's topics, and readers of what landed on them.
 */
import type { EventCodec, Observation, OpenMeteoRawAnswer } from '../../../../lib/domain/events.ts';
import type { ConsumedRecord } from '../../../../lib/platform/kafka/consumer.ts';
import { readDlqHeaders } from '../../../../lib/platform/kafka/dlq.ts';
import { createOpenMeteoCounters } from '../../../../producers/open-meteo/counters.ts';
import type { FetchDaysDeps } from '../../../../producers/open-meteo/fetch-days.ts';
import {
  DLQ_SOURCE_URL_HEADER,
  openIngestion,
  type Ingestion,
  type IngestionDeps,
} from '../../../../producers/open-meteo/ingestion.ts';
import { readTopicToEnd } from '../../../../producers/open-meteo/log-reader.ts';
import { SlidingWindowLimiter } from '../../../../producers/open-meteo/rate-limiter.ts';
import { startOpenMeteoStandIn, type OpenMeteoStandIn } from '../../../support/open-meteo-server.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';
import { virtualClock, type VirtualClock } from './harness.ts';

export function ingestionDeps(ctx: TestContext, codec: EventCodec): IngestionDeps {
  return {
    kafka: ctx.kafka,
    codec,
    topics: ctx.config.topics,
    logger: ctx.logger,
    transactionalIdPrefix: ctx.config.groupPrefix,
  };
}

export function fetchDepsFor(server: OpenMeteoStandIn, clock: VirtualClock): FetchDaysDeps {
  return {
    archiveUrl: server.archiveUrl,
    forecastUrl: server.forecastUrl,
    timeoutMs: 10_000,
    limiter: new SlidingWindowLimiter(),
    counters: createOpenMeteoCounters(),
    clock,
    retry: { random: () => 0.5 },
  };
}

/** Opens the ingestion of `stations`, runs `body`, closes it whatever happens. */
export async function withIngestion<T>(
  ctx: TestContext,
  codec: EventCodec,
  stations: readonly string[],
  body: (ingestion: Ingestion) => Promise<T>,
): Promise<T> {
  const ingestion = await openIngestion(stations, ingestionDeps(ctx, codec));
  try {
    return await body(ingestion);
  } finally {
    await ingestion.close();
  }
}

export async function readAll(ctx: TestContext, topic: string): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  await readTopicToEnd(ctx.kafka, topic, (batch) => void records.push(...batch), ctx.logger);
  return records;
}

export interface LandedObservation {
  record: ConsumedRecord;
  observation: Observation;
}

export async function observationsOnTopic(ctx: TestContext, codec: EventCodec): Promise<LandedObservation[]> {
  const records = await readAll(ctx, ctx.config.topics.observations);
  return Promise.all(
    records.map(async (record) => ({
      record,
      observation: await codec.decode('observation', record.value!),
    })),
  );
}

export async function rawOnTopic(
  ctx: TestContext,
  codec: EventCodec,
): Promise<{ record: ConsumedRecord; raw: OpenMeteoRawAnswer }[]> {
  const records = await readAll(ctx, ctx.config.topics.openMeteoRaw);
  return Promise.all(
    records.map(async (record) => ({ record, raw: await codec.decode('openMeteoRaw', record.value!) })),
  );
}

export async function dlqOnTopic(ctx: TestContext) {
  const records = await readAll(ctx, ctx.config.topics.observationsDlq);
  return records.map((record) => ({
    record,
    key: record.key?.toString() ?? null,
    value: JSON.parse(record.value!.toString()) as Record<string, unknown>,
    headers: readDlqHeaders(record.headers),
    url: record.headers[DLQ_SOURCE_URL_HEADER]?.toString() ?? '',
  }));
}

/** How many times each `station date` is on the topic. */
export function countsByDay(landed: readonly LandedObservation[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { observation: o } of landed) {
    const key = `${o.location} ${o.date}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** A test file's deployment (topics, schemas) and stand-in server, on a virtual clock starting at `start`. */
export interface StandInBed {
  ctx: TestContext;
  codec: EventCodec;
  clock: VirtualClock;
  server: OpenMeteoStandIn;
}

export async function openStandInBed(name: string, start: number): Promise<StandInBed> {
  const ctx = await testContext(name);
  await ctx.ensureTopics();
  const codec = await ctx.registerSchemas();
  const clock = virtualClock(start);
  const server = await startOpenMeteoStandIn({ now: clock.now });
  return { ctx, codec, clock, server };
}

/** Tolerates a bed whose opening failed part-way (the fields then undefined). */
export async function closeStandInBed(bed: Partial<StandInBed>): Promise<void> {
  await bed.server?.close();
  await bed.ctx?.cleanup();
}
