/**
 * `ingest backfill`: a range of past days of some stations onto the observations topic. Only the days
 * not ingested yet are asked for (the state says which), so a second run of the same backfill calls the
 * API only for what the first could not ingest; `refetch` asks for every day again, and each comes out
 * skipped (same values) or a conflict in the DLQ (other values), never a second event.
 */
import { addDays, daysBetween } from '../../lib/domain/time.ts';
import { RainstreamError } from '../../lib/platform/errors.ts';
import type { Metrics } from '../../lib/platform/metrics.ts';
import {
  emptyStationReport,
  ingestRange,
  notAttempted,
  reportRun,
  stoppingFailure,
  type IngestDaysDeps,
  type StationReport,
} from './ingest-days.ts';
import { missingRanges } from './ingestion-state.ts';
import type { Ingestion } from './ingestion.ts';
import { localDateAt } from './local-time.ts';
import type { DayRange } from './mapping.ts';
import type { LiveStation } from './stations.ts';

/**
 * Missing days at most this many ingested days apart are fetched in one call: a call's weight grows
 * with its days only past 14, so one call over a short known stretch costs less than two calls.
 */
export const MERGE_GAP_DAYS = 14;

export interface BackfillRequest {
  stations: readonly LiveStation[];
  from: string;
  /** Default: each station's yesterday. */
  to?: string;
  /** Ask for days already ingested too (their values are compared: skipped or a conflict). */
  refetch?: boolean;
}

export interface BackfillDeps extends IngestDaysDeps {
  ingestion: Ingestion;
  metrics?: Metrics;
}

interface StationPlan {
  station: LiveStation;
  today: string;
  ranges: DayRange[];
}

export async function runBackfill(
  req: BackfillRequest,
  deps: BackfillDeps,
): Promise<{ reports: StationReport[]; summary: Record<string, unknown> }> {
  const now = deps.fetch.clock.now();
  // Every station is checked before the first call, so a bad range fails the run, not half of it.
  const plans: StationPlan[] = req.stations.map((station) => {
    const today = localDateAt(now, station.timezone);
    const to = req.to ?? addDays(today, -1);
    if (daysBetween(req.from, to) < 0) {
      throw new RainstreamError('VALIDATION', `--from ${req.from} is after --to ${to}`);
    }
    if (daysBetween(to, today) <= 0) {
      throw new RainstreamError(
        'VALIDATION',
        `${station.name}: ${to} is not a complete day yet (today there is ${today}); backfill ends yesterday at the latest`,
      );
    }
    const ingestion = deps.ingestion.stations.get(station.name);
    if (!ingestion) throw new RainstreamError('INTERNAL', `no ingestion opened for ${station.name}`);
    const ranges = req.refetch
      ? [{ from: req.from, to }]
      : missingRanges(ingestion.state(), req.from, to, MERGE_GAP_DAYS);
    return { station, today, ranges };
  });
  const before = { ...deps.fetch.counters };
  const reports: StationReport[] = [];
  for (const { station, today, ranges } of plans) {
    const report = emptyStationReport(station.name);
    reports.push(report);
    const stop = stoppingFailure(reports);
    if (stop) {
      report.failures.push(...ranges.map((r) => notAttempted(station.name, r, stop)));
      continue;
    }
    for (const range of ranges) {
      await ingestRange(station, range, today, deps.ingestion.stations.get(station.name)!, report, deps);
    }
  }
  const summary = reportRun(
    'backfill',
    reports,
    { before, after: deps.fetch.counters },
    deps.logger,
    deps.metrics,
    { from: req.from, to: req.to ?? null, refetch: req.refetch === true },
  );
  return { reports, summary };
}
