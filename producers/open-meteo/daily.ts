/**
 * `ingest daily`: the long-running scheduler. Each day at the configured local time of each station
 * (06:00 by default) it fetches the days that station owes: yesterday, and after downtime every day since
 * the last one the state says was ingested, and the days of the last week it still lacks between ingested
 * ones (rejected when asked: schedule.ts owedDays). So its first run after a start is the catch-up. It sleeps on an injected clock until the next station's time, and stops at the abort
 * signal (SIGINT/SIGTERM in the CLI) between runs or inside one, leaving no transaction open.
 */
import type { Metrics } from '../../lib/platform/metrics.ts';
import { describeError } from '../../lib/platform/errors.ts';
import {
  emptyStationReport,
  ingestRange,
  notAttempted,
  reportRun,
  stoppingFailure,
  type IngestDaysDeps,
  type StationReport,
} from './ingest-days.ts';
import type { Ingestion } from './ingestion.ts';
import { localDateAt } from './local-time.ts';
import type { Clock } from './rate-limiter.ts';
import { nextRunAt, owedDays } from './schedule.ts';
import type { LiveStation } from './stations.ts';

/** After a run that could not fetch everything (API or Kafka away), try again this soon. */
export const DEFAULT_RETRY_AFTER_FAILURE_MS = 30 * 60_000;

export interface DailyDeps extends IngestDaysDeps {
  ingestion: Ingestion;
  clock: Clock;
  /** `HH:MM`, each station's local time. */
  dailyAt: string;
  signal: AbortSignal;
  metrics?: Metrics;
  retryAfterFailureMs?: number;
  /** Told after each run: what it did and when the next one is (for tests and supervisors). */
  onRun?: (run: DailyRun) => void;
}

export interface DailyRun {
  /** Epoch ms the run started. */
  at: number;
  /** Days each station owed at the start of the run, oldest first. */
  owed: Record<string, string[]>;
  reports: StationReport[];
  nextRunAt: number;
}

/** Longest single sleep: waking to re-read the clock keeps a suspended or re-synced machine on time. */
const MAX_SLEEP_MS = 60_000;

async function sleepUntil(clock: Clock, at: number, signal: AbortSignal): Promise<void> {
  for (let left = at - clock.now(); left > 0; left = at - clock.now()) {
    await clock.sleep(Math.min(left, MAX_SLEEP_MS), signal);
  }
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && error.name === 'AbortError');
}

/** One run: every station's owed days, as of `now`. */
async function runOnce(stations: readonly LiveStation[], deps: DailyDeps): Promise<DailyRun> {
  const at = deps.clock.now();
  const before = { ...deps.fetch.counters };
  const owed: Record<string, string[]> = {};
  const reports: StationReport[] = [];
  for (const station of stations) {
    const ingestion = deps.ingestion.stations.get(station.name)!;
    const days = owedDays(ingestion.state().days, at, station.timezone, deps.dailyAt);
    owed[station.name] = days;
    if (days.length === 0) continue;
    const report = emptyStationReport(station.name);
    reports.push(report);
    const range = { from: days[0]!, to: days[days.length - 1]! };
    const stop = stoppingFailure(reports);
    if (stop) {
      report.failures.push(notAttempted(station.name, range, stop));
      continue;
    }
    try {
      await ingestRange(station, range, localDateAt(at, station.timezone), ingestion, report, deps);
    } catch (error) {
      if (isAbort(error, deps.signal)) throw error;
      // Kafka or the registry away: the days stay owed (the state did not move) and are retried.
      report.failures.push({
        station: station.name,
        ...range,
        code: 'INGESTION_FAILED',
        retriable: true,
        reason: describeError(error),
      });
    }
  }
  const after = deps.clock.now();
  let next = Math.min(...stations.map((s) => nextRunAt(after, s.timezone, deps.dailyAt)));
  if (reports.some((r) => r.failures.some((f) => f.retriable))) {
    next = Math.min(next, after + (deps.retryAfterFailureMs ?? DEFAULT_RETRY_AFTER_FAILURE_MS));
  }
  if (reports.length > 0) {
    reportRun('daily run', reports, { before, after: deps.fetch.counters }, deps.logger, deps.metrics, {
      owed,
    });
  }
  return { at, owed, reports, nextRunAt: next };
}

/** Runs until `deps.signal` aborts; resolves then (an abort is how it ends, not an error). */
export async function runDaily(stations: readonly LiveStation[], deps: DailyDeps): Promise<void> {
  const log = deps.logger;
  log.info({ stations: stations.map((s) => s.name), dailyAt: deps.dailyAt }, 'daily ingestion started');
  while (!deps.signal.aborted) {
    let run: DailyRun;
    try {
      run = await runOnce(stations, deps);
    } catch (error) {
      if (isAbort(error, deps.signal)) break;
      throw error;
    }
    log.info({ nextRunAt: new Date(run.nextRunAt).toISOString() }, 'next daily run scheduled');
    deps.onRun?.(run);
    try {
      await sleepUntil(deps.clock, run.nextRunAt, deps.signal);
    } catch (error) {
      if (isAbort(error, deps.signal)) break;
      throw error;
    }
  }
  log.info('daily ingestion stopped');
}
