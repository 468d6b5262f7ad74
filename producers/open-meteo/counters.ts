/**
 * Counters of the ingestion, a plain object the caller owns and passes in: a metrics exporter can read
 * it (or wrap it) later without the client knowing about metrics.
 */
import type { Metrics } from '../../lib/platform/metrics.ts';

export interface OpenMeteoCounters {
  /** HTTP attempts sent. */
  requests: number;
  /** Attempts answered 2xx with a body that is not an error body. */
  responsesOk: number;
  /** Weighted calls spent against the free tier (request.ts callWeight), attempts included. */
  weight: number;
  /** Time the limiter or a Retry-After held calls back, in ms. */
  throttledMs: number;
  retries: number;
  timeouts: number;
  /** HTTP 429 answers. */
  rateLimited: number;
  /** Open-Meteo error bodies `{"error": true, "reason": ...}` (any status). */
  apiErrors: number;
  /** Other non-2xx answers, redirect loops, and answers too large to keep. */
  httpErrors: number;
  /** Connection refused, reset, DNS: no HTTP answer at all. */
  networkErrors: number;
  /** Requests given up on (a non-retriable error, or retries spent). */
  failedRequests: number;
  daysMapped: number;
  daysRejected: number;
  /** The same (station, date) again with the same values: idempotent, dropped, counted here. */
  duplicatesIdentical: number;
  /** The same (station, date) again with other values: the later one is a rejection. */
  duplicatesConflicting: number;
}

export function createOpenMeteoCounters(): OpenMeteoCounters {
  return {
    requests: 0,
    responsesOk: 0,
    weight: 0,
    throttledMs: 0,
    retries: 0,
    timeouts: 0,
    rateLimited: 0,
    apiErrors: 0,
    httpErrors: 0,
    networkErrors: 0,
    failedRequests: 0,
    daysMapped: 0,
    daysRejected: 0,
    duplicatesIdentical: 0,
    duplicatesConflicting: 0,
  };
}

/** What happened between two readings of the counters (one run of a long-lived process). */
export function diffCounters(before: OpenMeteoCounters, after: OpenMeteoCounters): OpenMeteoCounters {
  const delta = createOpenMeteoCounters();
  for (const key of Object.keys(delta) as (keyof OpenMeteoCounters)[]) delta[key] = after[key] - before[key];
  return delta;
}

/** Metric name of each counter (`open_meteo_*_total`, Prometheus style). */
export const OPEN_METEO_METRICS: Readonly<Record<keyof OpenMeteoCounters, string>> = {
  requests: 'open_meteo_calls_total',
  responsesOk: 'open_meteo_answers_ok_total',
  weight: 'open_meteo_call_weight_total',
  throttledMs: 'open_meteo_throttled_ms_total',
  retries: 'open_meteo_retries_total',
  timeouts: 'open_meteo_timeouts_total',
  rateLimited: 'open_meteo_rate_limited_total',
  apiErrors: 'open_meteo_api_errors_total',
  httpErrors: 'open_meteo_http_errors_total',
  networkErrors: 'open_meteo_network_errors_total',
  failedRequests: 'open_meteo_failed_calls_total',
  daysMapped: 'open_meteo_days_mapped_total',
  daysRejected: 'open_meteo_days_rejected_total',
  duplicatesIdentical: 'open_meteo_answer_duplicates_identical_total',
  duplicatesConflicting: 'open_meteo_answer_duplicates_conflicting_total',
};

/** Adds a run's counters to the process's metrics (lib/platform/metrics.ts), zeros left out. */
export function recordOpenMeteoMetrics(metrics: Metrics, delta: OpenMeteoCounters): void {
  for (const key of Object.keys(OPEN_METEO_METRICS) as (keyof OpenMeteoCounters)[]) {
    if (delta[key] !== 0) metrics.inc(OPEN_METEO_METRICS[key], undefined, delta[key]);
  }
}
