/**
 * Days of weather for live stations: the calls (archive in chunks, or one forecast call per station),
 * the raw answers as received (for the raw topic), and the mapped observations and rejections, each
 * (station, date) at most once. Requests run one at a time: the free tier's limits, not this machine,
 * bound the pace.
 */
import { describeError, RainstreamError } from '../../lib/platform/errors.ts';
import { addDays, dayNumber, daysBetween } from '../../lib/domain/time.ts';
import type { Observation } from '../../lib/domain/weather/observation.ts';
import { fetchOpenMeteo, type FetchedAnswer, type OpenMeteoClientDeps } from './client.ts';
import { retryAfterMsOf } from './http-errors.ts';
import { localDateAt } from './local-time.ts';
import { mapOpenMeteoBody, type DayRejection } from './mapping.ts';
import { chunkDateRange, FORECAST_MAX_PAST_DAYS, type FetchMode, type OpenMeteoRequest } from './request.ts';
import type { LiveStation } from './stations.ts';

export interface FetchDaysRequest {
  stations: readonly LiveStation[];
  /** First and last day, inclusive, in each station's local calendar. */
  from: string;
  to: string;
  mode: FetchMode;
}

export interface FetchDaysDeps extends OpenMeteoClientDeps {
  /** Days per archive call (default 31). Weight grows with days, so this trades calls for body size. */
  chunkDays?: number;
}

/** One answer as received: what the raw topic keeps, enough to map it again later. */
export interface RawAnswer {
  station: LiveStation;
  mode: FetchMode;
  /** The days this answer is mapped for (it also holds the day before, for the 9am rainfall day). */
  from: string;
  to: string;
  url: string;
  status: number;
  contentType: string | null;
  body: string;
  fetchedAt: string;
  attempts: number;
}

/** Days that could not be fetched: the call failed for good. */
export interface FetchFailure {
  station: string;
  from: string;
  to: string;
  code: string;
  retriable: boolean;
  reason: string;
  /** The request that failed, when it was made (the DLQ names it as the source). */
  url?: string;
  /** The wait a 429's or 503's Retry-After asked for, when the last answer said. */
  retryAfterMs?: number;
}

export interface StationDays {
  station: LiveStation;
  raw: RawAnswer[];
  /** Sorted by date, one per date. */
  observations: Observation[];
  rejections: DayRejection[];
  failures: FetchFailure[];
}

export const DEFAULT_CHUNK_DAYS = 31;

interface Call {
  request: OpenMeteoRequest;
  from: string;
  to: string;
}

function validateRequest(req: FetchDaysRequest): void {
  const fail = (message: string) => {
    throw new RainstreamError('VALIDATION', message, { details: { from: req.from, to: req.to } });
  };
  try {
    dayNumber(req.from);
    dayNumber(req.to);
  } catch (error) {
    fail(`from/to must be calendar days: ${describeError(error)}`);
  }
  if (req.from > req.to) fail(`from ${req.from} is after to ${req.to}`);
  const names = new Set<string>();
  for (const s of req.stations) {
    const lower = s.name.toLowerCase();
    if (names.has(lower)) fail(`station ${s.name} is listed twice`);
    names.add(lower);
  }
}

function callsFor(station: LiveStation, req: FetchDaysRequest, now: number, chunkDays: number): Call[] {
  if (req.mode === 'archive') {
    return chunkDateRange(req.from, req.to, chunkDays).map((chunk) => ({
      request: { mode: 'archive', station, startDate: addDays(chunk.from, -1), endDate: chunk.to },
      ...chunk,
    }));
  }
  const today = localDateAt(now, station.timezone);
  if (req.to >= today) {
    throw new RainstreamError(
      'VALIDATION',
      `forecast mode fetches complete days only: ${req.to} is not before ${station.name}'s today ${today}`,
    );
  }
  // From the day before `from` (its hours start the 9am rainfall day), and one more in case the API's
  // clock is already past midnight where ours is not.
  const needed = daysBetween(req.from, today) + 1;
  if (needed > FORECAST_MAX_PAST_DAYS) {
    throw new RainstreamError(
      'VALIDATION',
      `forecast mode reaches ${FORECAST_MAX_PAST_DAYS} days back; ${req.from} needs ${needed}: use archive`,
    );
  }
  const pastDays = Math.min(FORECAST_MAX_PAST_DAYS, needed + 1);
  return [{ request: { mode: 'forecast', station, pastDays, forecastDays: 1 }, from: req.from, to: req.to }];
}

/** Keeps the first observation of each date; a repeat with other values becomes a rejection. */
export function dedupeByDate(observations: readonly Observation[]): {
  unique: Observation[];
  identical: number;
  conflicts: DayRejection[];
} {
  const byDate = new Map<string, { observation: Observation; json: string }>();
  let identical = 0;
  const conflicts: DayRejection[] = [];
  for (const o of observations) {
    const json = JSON.stringify(o);
    const first = byDate.get(o.date);
    if (!first) byDate.set(o.date, { observation: o, json });
    else if (first.json === json) identical++;
    else {
      conflicts.push({
        station: o.location,
        date: o.date,
        field: 'date',
        reason: `conflicting duplicate of (${o.location}, ${o.date}): kept ${first.json.slice(0, 400)}; rejected ${json.slice(0, 400)}`,
      });
    }
  }
  const unique = [...byDate.values()]
    .map((v) => v.observation)
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return { unique, identical, conflicts };
}

function failureOf(station: string, call: Call, error: RainstreamError): FetchFailure {
  const last =
    error.code === 'RETRIES_EXHAUSTED' && error.cause instanceof RainstreamError ? error.cause : error;
  const url = last.details.url ?? error.details.url;
  const retryAfterMs = retryAfterMsOf(last);
  return {
    station,
    from: call.from,
    to: call.to,
    code: last.code,
    retriable: last.retriable,
    reason: error.message,
    ...(typeof url === 'string' ? { url } : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/**
 * Fetches and maps `from..to` for each station. A call that fails for good is reported in `failures`
 * and the others go on; after a 429 or 503 whose Retry-After asks to wait longer than the client's
 * patience for, the calls not yet made are reported failed too, unsent. Programming errors and an abort
 * through `deps.signal` throw.
 */
export async function fetchDays(req: FetchDaysRequest, deps: FetchDaysDeps): Promise<StationDays[]> {
  validateRequest(req);
  const chunkDays = deps.chunkDays ?? DEFAULT_CHUNK_DAYS;
  const plan = req.stations.map((station) => ({
    station,
    calls: callsFor(station, req, deps.clock.now(), chunkDays),
  }));
  let stopped: RainstreamError | undefined;
  const results: StationDays[] = [];
  for (const { station, calls } of plan) {
    const out: StationDays = { station, raw: [], observations: [], rejections: [], failures: [] };
    const mapped: Observation[] = [];
    for (const call of calls) {
      if (stopped) {
        const { url: _url, ...failure } = failureOf(station.name, call, stopped);
        out.failures.push({ ...failure, reason: `not attempted: ${stopped.message}` });
        continue;
      }
      let answer: FetchedAnswer;
      try {
        answer = await fetchOpenMeteo(call.request, deps);
      } catch (error) {
        if (deps.signal?.aborted || !(error instanceof RainstreamError)) throw error;
        out.failures.push(failureOf(station.name, call, error));
        if (error.code === 'RATE_LIMITED' || retryAfterMsOf(error) !== undefined) stopped = error;
        continue;
      }
      out.raw.push({
        station,
        mode: call.request.mode,
        from: call.from,
        to: call.to,
        url: answer.url,
        status: answer.status,
        contentType: answer.contentType,
        body: answer.body,
        fetchedAt: answer.fetchedAt,
        attempts: answer.attempts,
      });
      const days = mapOpenMeteoBody(
        answer.body,
        station,
        { from: call.from, to: call.to },
        { fetchedAt: answer.fetchedAt },
      );
      mapped.push(...days.observations);
      out.rejections.push(...days.rejections);
    }
    const { unique, identical, conflicts } = dedupeByDate(mapped);
    out.observations = unique;
    out.rejections.push(...conflicts);
    out.rejections.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    deps.counters.daysMapped += unique.length;
    deps.counters.daysRejected += out.rejections.length;
    deps.counters.duplicatesIdentical += identical;
    deps.counters.duplicatesConflicting += conflicts.length;
    results.push(out);
  }
  return results;
}

/** Maps a raw answer again (after a mapping fix, from the raw topic), deduped as fetchDays does. */
export function remapRawAnswer(
  raw: Pick<RawAnswer, 'station' | 'from' | 'to' | 'body'> & Partial<Pick<RawAnswer, 'fetchedAt'>>,
): {
  observations: Observation[];
  rejections: DayRejection[];
} {
  const days = mapOpenMeteoBody(
    raw.body,
    raw.station,
    { from: raw.from, to: raw.to },
    raw.fetchedAt === undefined ? {} : { fetchedAt: raw.fetchedAt },
  );
  const { unique, conflicts } = dedupeByDate(days.observations);
  return { observations: unique, rejections: [...days.rejections, ...conflicts] };
}
