/** The Open-Meteo ingestion core: what the `ingest` CLI (backfill, daily) and the raw-topic replay use. */
export { SYSTEM_CLOCK, fetchOpenMeteo, type FetchedAnswer, type OpenMeteoClientDeps } from './client.ts';
export { createOpenMeteoCounters, type OpenMeteoCounters } from './counters.ts';
export {
  DEFAULT_CHUNK_DAYS,
  dedupeByDate,
  fetchDays,
  remapRawAnswer,
  type FetchDaysDeps,
  type FetchDaysRequest,
  type FetchFailure,
  type RawAnswer,
  type StationDays,
} from './fetch-days.ts';
export {
  mapOpenMeteoBody,
  OPEN_METEO_SOURCE,
  type DayRange,
  type DayRejection,
  type MappedDays,
} from './mapping.ts';
export {
  OPEN_METEO_FREE_TIER,
  SlidingWindowLimiter,
  acquire,
  type Clock,
  type RateWindow,
} from './rate-limiter.ts';
export { callWeight, type FetchMode } from './request.ts';
export { latestDueDay, missedDays, nextRunAt, planFetches, type PlannedFetch } from './schedule.ts';
export { loadLiveStations, parseLiveStations, selectStations, type LiveStation } from './stations.ts';
