/**
 * Wall-clock time of an IANA time zone, from the tz database the runtime carries (Intl). A station's
 * "9am" is a local clock time: on a daylight-saving day the local day has 23 or 25 hours, so 09:00 is
 * found by converting the clock time to an instant, never by counting hours from midnight.
 */
import { dayNumber, fromDayNumber } from '../../lib/domain/time.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

/** True for a zone name the runtime's tz database knows (`Africa/Casablanca`, `UTC`); false for offsets. */
export function isTimeZone(name: string): boolean {
  if (!IANA_NAME.test(name)) return false;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/** Whether two zone names are one zone of the tz database (`GMT` and `UTC`, `Asia/Kolkata` and `Asia/Calcutta`). */
export function sameTimeZone(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isTimeZone(a) || !isTimeZone(b)) return false;
  return formatterFor(a).resolvedOptions().timeZone === formatterFor(b).resolvedOptions().timeZone;
}

export interface LocalDateTime {
  /** `YYYY-MM-DD` */
  date: string;
  hour: number;
  minute: number;
  second: number;
}

/** The wall clock of `timeZone` at an instant (epoch milliseconds). */
export function localDateTimeAt(instantMs: number, timeZone: string): LocalDateTime {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatterFor(timeZone).formatToParts(instantMs)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
    else if (part.type === 'second') second = Number(part.value);
  }
  const date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  return { date, hour, minute, second };
}

/** The station's calendar day at an instant. */
export function localDateAt(instantMs: number, timeZone: string): string {
  return localDateTimeAt(instantMs, timeZone).date;
}

/** UTC offset of the zone at an instant, in milliseconds (local = UTC + offset). */
export function offsetMsAt(instantMs: number, timeZone: string): number {
  const t = localDateTimeAt(instantMs, timeZone);
  const wall = dayNumber(t.date) * DAY_MS + t.hour * HOUR_MS + t.minute * 60_000 + t.second * 1000;
  return wall - Math.floor(instantMs / 1000) * 1000;
}

/**
 * The instant at which the zone's clock reads `date hour:minute`. A clock time that occurs twice (the
 * hour repeated when daylight saving ends) gives the earlier instant; one that does not occur (skipped
 * when it starts) gives the instant the clock reads that time plus the skipped length, as clocks do.
 * Assumes at most one offset change within a day either side, which every real zone satisfies.
 */
export function instantOfLocal(date: string, hour: number, minute: number, timeZone: string): number {
  const wall = dayNumber(date) * DAY_MS + hour * HOUR_MS + minute * 60_000;
  const before = offsetMsAt(wall - DAY_MS, timeZone);
  const after = offsetMsAt(wall + DAY_MS, timeZone);
  let found: number | undefined;
  for (const offset of before === after ? [before] : [before, after]) {
    const candidate = wall - offset;
    if (offsetMsAt(candidate, timeZone) === offset && (found === undefined || candidate < found)) {
      found = candidate;
    }
  }
  return found ?? wall - before;
}

/** `YYYY-MM-DDTHH:MM` of a wall-clock millisecond value (an instant shifted by an offset). */
export function formatWallClock(wallMs: number): string {
  const day = Math.floor(wallMs / DAY_MS);
  const rest = wallMs - day * DAY_MS;
  const hour = Math.floor(rest / HOUR_MS);
  const minute = Math.floor((rest - hour * HOUR_MS) / 60_000);
  return `${fromDayNumber(day)}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

const LABEL_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/;

/** Wall-clock milliseconds of a `YYYY-MM-DDTHH:MM` label, or NaN when it is not one. */
export function parseWallClock(label: string): number {
  const m = LABEL_RE.exec(label);
  if (!m) return NaN;
  const hour = Number(m[2]);
  const minute = Number(m[3]);
  if (hour > 23 || minute > 59) return NaN;
  let day: number;
  try {
    day = dayNumber(m[1]!);
  } catch {
    return NaN;
  }
  return day * DAY_MS + hour * HOUR_MS + minute * 60_000;
}
