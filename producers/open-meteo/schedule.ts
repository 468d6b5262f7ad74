/**
 * When the daily ingestion runs and which days it owes, in each station's own clock: every day at a
 * configured local time (06:00 by default) it fetches yesterday; after downtime it catches up every day
 * since the last one ingested. Pure functions of an instant, so a test moves the clock by hand.
 */
import { addDays, daysBetween } from '../../lib/domain/time.ts';
import { instantOfLocal, localDateTimeAt } from './local-time.ts';
import { FORECAST_MAX_PAST_DAYS, type FetchMode } from './request.ts';

const DAILY_AT_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

export interface ClockTime {
  hour: number;
  minute: number;
}

export function parseDailyAt(text: string): ClockTime {
  const m = DAILY_AT_RE.exec(text);
  if (!m) throw new RangeError(`daily time must be HH:MM (24-hour), got ${JSON.stringify(text)}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/**
 * The latest day whose fetch is due at `now`: yesterday once the station's clock has reached the daily
 * time, else the day before yesterday (its run happened yesterday at that time).
 */
export function latestDueDay(now: number, timeZone: string, dailyAt: string): string {
  const at = parseDailyAt(dailyAt);
  const local = localDateTimeAt(now, timeZone);
  const reached = local.hour > at.hour || (local.hour === at.hour && local.minute >= at.minute);
  return addDays(local.date, reached ? -1 : -2);
}

/**
 * Days owed at `now`, oldest first: those after `lastIngested` up to the latest due day; only the latest
 * due day when nothing was ingested yet (a history is a backfill's job, not the scheduler's).
 */
export function missedDays(
  lastIngested: string | null,
  now: number,
  timeZone: string,
  dailyAt = '06:00',
): string[] {
  const due = latestDueDay(now, timeZone, dailyAt);
  if (lastIngested === null) return [due];
  const days: string[] = [];
  for (let d = addDays(lastIngested, 1); daysBetween(d, due) >= 0; d = addDays(d, 1)) days.push(d);
  return days;
}

/**
 * How long a day the API answered badly (rejected, in the DLQ, not ingested) is asked for again by the
 * daily runs after it, once a later day is in: within a week the re-asked days fit the forecast call
 * the run makes anyway (its weight grows only past 14 days). An older hole is left to a backfill.
 */
export const REASK_DAYS = 7;

/**
 * Days owed at `now`, oldest first: the missed days (missedDays after the last one ingested), and the
 * days of the last `reaskDays` up to the latest due day that are still not ingested although a later
 * one is (the answer for them was rejected), from the first day ever ingested on.
 */
export function owedDays(
  ingested: { has(date: string): boolean; keys(): Iterable<string>; readonly size: number },
  now: number,
  timeZone: string,
  dailyAt = '06:00',
  reaskDays = REASK_DAYS,
): string[] {
  let first: string | null = null;
  let last: string | null = null;
  for (const date of ingested.keys()) {
    if (first === null || date < first) first = date;
    if (last === null || date > last) last = date;
  }
  const missed = missedDays(last, now, timeZone, dailyAt);
  if (first === null || last === null) return missed;
  const windowStart = addDays(latestDueDay(now, timeZone, dailyAt), 1 - reaskDays);
  const holes: string[] = [];
  for (let d = windowStart > first ? windowStart : first; d < last; d = addDays(d, 1)) {
    if (!ingested.has(d)) holes.push(d);
  }
  return [...holes, ...missed];
}

/** The next instant after `now` at which the station's clock reads the daily time. */
export function nextRunAt(now: number, timeZone: string, dailyAt: string): number {
  const at = parseDailyAt(dailyAt);
  const today = localDateTimeAt(now, timeZone).date;
  const candidate = instantOfLocal(today, at.hour, at.minute, timeZone);
  return candidate > now ? candidate : instantOfLocal(addDays(today, 1), at.hour, at.minute, timeZone);
}

export interface PlannedFetch {
  mode: FetchMode;
  from: string;
  to: string;
}

/**
 * Which API serves `from..to` as seen on the station's `today`: the forecast API for the days it still
 * holds (it reaches 92 days back, and fetch-days asks two more than the range), the archive before.
 */
export function planFetches(from: string, to: string, today: string): PlannedFetch[] {
  const forecastFrom = addDays(today, -(FORECAST_MAX_PAST_DAYS - 2));
  if (daysBetween(forecastFrom, from) >= 0) return [{ mode: 'forecast', from, to }];
  if (daysBetween(to, forecastFrom) > 0) return [{ mode: 'archive', from, to }];
  return [
    { mode: 'archive', from, to: addDays(forecastFrom, -1) },
    { mode: 'forecast', from: forecastFrom, to },
  ];
}
