/** The Open-Meteo ingestion: what the `ingest` CLI (backfill, daily, remap) is made of. */
export { SYSTEM_CLOCK, fetchOpenMeteo, type FetchedAnswer, type OpenMeteoClientDeps } from './client.ts';
export {
  createOpenMeteoCounters,
  diffCounters,
  recordOpenMeteoMetrics,
  type OpenMeteoCounters,
} from './counters.ts';
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
export {
  latestDueDay,
  missedDays,
  nextRunAt,
  owedDays,
  planFetches,
  REASK_DAYS,
  type PlannedFetch,
} from './schedule.ts';
export { loadLiveStations, parseLiveStations, selectStations, type LiveStation } from './stations.ts';
export { MERGE_GAP_DAYS, runBackfill, type BackfillDeps, type BackfillRequest } from './backfill.ts';
export { runDaily, type DailyDeps, type DailyRun } from './daily.ts';
export { ingestRange, type StationReport } from './ingest-days.ts';
export {
  emptyIngestionState,
  fingerprintObservation,
  fromStateRecord,
  judgeDays,
  lastIngestedDate,
  missingRanges,
  toStateRecord,
  withIngestedDays,
  type StationIngestionState,
} from './ingestion-state.ts';
export {
  DLQ_SOURCE_URL_HEADER,
  openIngestion,
  positionText,
  readIngestionStates,
  transactionalIdOf,
  type DaysOutcome,
  type Ingestion,
  type IngestionDeps,
  type LogPosition,
  type StationIngestion,
} from './ingestion.ts';
export { readOffsets, readRanges, readTopicToEnd } from './log-reader.ts';
export { runRemap, type RemapDeps, type RemapRequest } from './remap.ts';
