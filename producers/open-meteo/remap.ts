/**
 * `ingest remap`: the raw answers on the raw topic mapped again with today's mapping, without calling
 * the API, and ingested like fresh answers: a day not on the observations topic yet (one the old mapping
 * rejected) lands, a day there with the same values is skipped, a day the new mapping changes is a
 * conflict in the DLQ (the topic keeps one version per day). Each day's sourcePosition names the raw
 * record it was mapped from.
 */
import type { EventCodec } from '../../lib/domain/events.ts';
import { daysBetween } from '../../lib/domain/time.ts';
import type { Topics } from '../../lib/platform/config.ts';
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import type { ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import type { Metrics } from '../../lib/platform/metrics.ts';
import { remapRawAnswer } from './fetch-days.ts';
import { createOpenMeteoCounters } from './counters.ts';
import { emptyStationReport, reportRun, type StationReport } from './ingest-days.ts';
import { addOutcome, type Ingestion } from './ingestion.ts';
import { readTopicToEnd } from './log-reader.ts';
import type { DayRange } from './mapping.ts';

export interface RemapRequest {
  stations: readonly string[];
  /** Only the days from..to of each answer (inclusive); default: all its days. */
  from?: string;
  to?: string;
}

export interface RemapDeps {
  kafka: Kafka;
  codec: EventCodec;
  topics: Pick<Topics, 'openMeteoRaw'>;
  ingestion: Ingestion;
  logger: Logger;
  metrics?: Metrics;
}

/** The days of `answer` inside `wanted`, or null when they do not meet. */
export function overlap(answer: DayRange, wanted: Partial<DayRange>): DayRange | null {
  const from = wanted.from && wanted.from > answer.from ? wanted.from : answer.from;
  const to = wanted.to && wanted.to < answer.to ? wanted.to : answer.to;
  return daysBetween(from, to) >= 0 ? { from, to } : null;
}

export async function runRemap(
  req: RemapRequest,
  deps: RemapDeps,
): Promise<{ reports: StationReport[]; summary: Record<string, unknown> }> {
  const wanted = new Set(req.stations);
  const records: ConsumedRecord[] = [];
  await readTopicToEnd(
    deps.kafka,
    deps.topics.openMeteoRaw,
    (batch) => {
      for (const r of batch) if (r.key && r.value && wanted.has(r.key.toString())) records.push(r);
    },
    deps.logger,
  );
  const reports = new Map(req.stations.map((s) => [s, emptyStationReport(s)]));
  for (const record of records) {
    const raw = await deps.codec.decode('openMeteoRaw', record.value!);
    const days = overlap(raw, req);
    const ingestion = deps.ingestion.stations.get(raw.station);
    if (days === null || !ingestion) continue;
    // The station as it was asked about then (place, zone), whatever the stations file says now.
    const station = {
      name: raw.station,
      latitude: raw.latitude,
      longitude: raw.longitude,
      timezone: raw.timezone,
    };
    const mapped = remapRawAnswer({ station, ...days, body: raw.body, fetchedAt: raw.fetchedAt });
    const report = reports.get(raw.station)!;
    report.answers++;
    addOutcome(
      report,
      await ingestion.ingestDays(
        { topic: record.topic, partition: record.partition, offset: record.offset },
        raw.url,
        mapped,
      ),
    );
  }
  const none = createOpenMeteoCounters();
  const summary = reportRun(
    'remap',
    [...reports.values()],
    { before: none, after: none },
    deps.logger,
    deps.metrics,
    {
      from: req.from ?? null,
      to: req.to ?? null,
    },
  );
  return { reports: [...reports.values()], summary };
}
