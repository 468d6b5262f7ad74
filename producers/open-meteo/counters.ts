/**
 * Counters of the ingestion, a plain object the caller owns and passes in: a metrics exporter can read
 * it (or wrap it) later without the client knowing about metrics.
 */
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
  /** Other non-2xx answers. */
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
