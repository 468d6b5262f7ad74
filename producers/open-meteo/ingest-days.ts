/**
 * Days of one station from Open-Meteo onto the topics: which API serves them (schedule.ts planFetches),
 * one call per chunk, each answer committed raw before it is mapped, then its days ingested
 * (ingestion.ts). What backfill and the daily scheduler share.
 */
import type { Metrics } from '../../lib/platform/metrics.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { diffCounters, recordOpenMeteoMetrics, type OpenMeteoCounters } from './counters.ts';
import {
  DEFAULT_CHUNK_DAYS,
  fetchDays,
  remapRawAnswer,
  type FetchDaysDeps,
  type FetchFailure,
} from './fetch-days.ts';
import { addOutcome, emptyOutcome, type DaysOutcome, type StationIngestion } from './ingestion.ts';
import type { DayRange } from './mapping.ts';
import { chunkDateRange } from './request.ts';
import { planFetches } from './schedule.ts';
import type { LiveStation } from './stations.ts';

export interface IngestDaysDeps {
  fetch: FetchDaysDeps;
  logger: Logger;
}

export interface StationReport extends DaysOutcome {
  station: string;
  /** Answers committed to the raw topic. */
  answers: number;
  /** Calls that failed: retriable ones are tried again by the next run; the others are in the DLQ. */
  failures: FetchFailure[];
}

export function emptyStationReport(station: string): StationReport {
  return { station, ...emptyOutcome(), answers: 0, failures: [] };
}

/**
 * Open-Meteo did not answer a call through all its retries (down, unreachable, or hanging), or answered
 * 503 with a Retry-After longer than the client waits for within a call.
 */
function away(failure: FetchFailure): boolean {
  return failure.retriable && (failure.code === 'TIMEOUT' || failure.code === 'UPSTREAM_UNAVAILABLE');
}

/**
 * The failure after which a run makes no more calls, if any: a 429 asking to wait longer than the
 * client's patience, or a call Open-Meteo left unanswered through all its retries or answered with a 503
 * asking to wait longer than that patience. Each later call would spend its own retries and timeouts on a
 * server that is away (minutes per call, stations after stations), or wait in the limiter for as long as
 * the server asked; the run reports the rest not attempted, and the next run (the daily scheduler's, 30
 * minutes later) tries again.
 */
export function stoppingFailure(reports: readonly StationReport[]): FetchFailure | undefined {
  for (const report of reports) {
    const failure =
      report.failures.find((f) => f.code === 'RATE_LIMITED') ?? report.failures.find((f) => away(f));
    if (failure) return failure;
  }
  return undefined;
}

/** The failure of days not asked for, after `stop`. */
export function notAttempted(station: string, range: DayRange, stop: FetchFailure): FetchFailure {
  return {
    station,
    ...range,
    code: stop.code,
    retriable: true,
    reason:
      stop.code === 'RATE_LIMITED'
        ? 'not attempted: Open-Meteo asked to slow down'
        : stop.retryAfterMs !== undefined
          ? `not attempted: Open-Meteo asked to be called again later (${stop.reason})`
          : `not attempted: Open-Meteo did not answer an earlier call (${stop.reason})`,
  };
}

/**
 * Fetches and ingests `range` of `station` as seen on the station's `today` (complete days only),
 * into `report`. Stops early, reporting the rest failed, when Open-Meteo says to slow down or is away.
 */
export async function ingestRange(
  station: LiveStation,
  range: DayRange,
  today: string,
  ingestion: StationIngestion,
  report: StationReport,
  deps: IngestDaysDeps,
): Promise<void> {
  const chunkDays = deps.fetch.chunkDays ?? DEFAULT_CHUNK_DAYS;
  for (const planned of planFetches(range.from, range.to, today)) {
    const calls =
      planned.mode === 'archive' ? chunkDateRange(planned.from, planned.to, chunkDays) : [planned];
    for (const call of calls) {
      const stop = stoppingFailure([report]);
      if (stop) {
        report.failures.push(notAttempted(station.name, { from: call.from, to: call.to }, stop));
        continue;
      }
      const [result] = await fetchDays(
        { stations: [station], from: call.from, to: call.to, mode: planned.mode },
        deps.fetch,
      );
      for (const raw of result!.raw) {
        const position = await ingestion.writeRaw(raw);
        report.answers++;
        addOutcome(report, await ingestion.ingestDays(position, raw.url, remapRawAnswer(raw)));
      }
      report.failures.push(...result!.failures);
      await ingestion.rejectFailures(result!.failures);
    }
  }
}

/** The run's one log line and its metrics: days by outcome, and the calls it took. */
export function reportRun(
  what: string,
  reports: readonly StationReport[],
  counters: { before: OpenMeteoCounters; after: OpenMeteoCounters },
  logger: Logger,
  metrics?: Metrics,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const calls = diffCounters(counters.before, counters.after);
  const days = reports.reduce((sum, r) => addOutcome(sum, r), emptyOutcome());
  const failures = reports.flatMap((r) => r.failures);
  if (metrics) {
    recordOpenMeteoMetrics(metrics, calls);
    for (const [outcome, n] of Object.entries({
      ingested: days.ingested,
      identical: days.identical,
      conflict: days.conflicts,
      rejected: days.rejected,
    })) {
      if (n > 0) metrics.inc('open_meteo_days_total', { outcome }, n);
    }
  }
  const summary = {
    ...extra,
    days,
    answers: reports.reduce((sum, r) => sum + r.answers, 0),
    stations: reports.map(({ failures: f, ...r }) => ({ ...r, failures: f.length })),
    failures: failures.map((f) => ({
      station: f.station,
      from: f.from,
      to: f.to,
      code: f.code,
      reason: f.reason,
    })),
    openMeteo: calls,
  };
  (failures.length > 0 ? logger.warn : logger.info).call(logger, summary, `${what} finished`);
  return summary;
}
