/**
 * Calendar-day arithmetic on `YYYY-MM-DD` strings, the date form of every event. Days are counted with
 * integer day numbers (days since 1970-01-01, proleptic Gregorian) rather than `Date` objects: the feature
 * step calls these for every observation, and a station's calendar day has no time zone to get wrong.
 */
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

export class DateFormatError extends TypedError<'DATE_FORMAT'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('DATE_FORMAT', message, options);
  }
}

export type Season = 'summer' | 'autumn' | 'winter' | 'spring';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function digit(date: string, i: number): number {
  const d = date.charCodeAt(i) - 48;
  if (d < 0 || d > 9) throw new DateFormatError(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  return d;
}

interface Civil {
  year: number;
  month: number;
  day: number;
}

function parse(date: string): Civil {
  if (
    typeof date !== 'string' ||
    date.length !== 10 ||
    date.charCodeAt(4) !== 45 ||
    date.charCodeAt(7) !== 45
  ) {
    throw new DateFormatError(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  }
  const year = digit(date, 0) * 1000 + digit(date, 1) * 100 + digit(date, 2) * 10 + digit(date, 3);
  const month = digit(date, 5) * 10 + digit(date, 6);
  const day = digit(date, 8) * 10 + digit(date, 9);
  const maxDay = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
  if (maxDay === undefined || day < 1 || day > maxDay) {
    throw new DateFormatError(`not a calendar day: ${JSON.stringify(date)}`);
  }
  return { year, month, day };
}

// Howard Hinnant's days_from_civil / civil_from_days: exact integer arithmetic, no Date allocation.
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(n: number): Civil {
  const z = n + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * Whether `value` is a real calendar day in `YYYY-MM-DD` form (years 0000..9999), without throwing: what
 * validation asks before any arithmetic on a date it was sent.
 */
export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 10) return false;
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  const maxDay = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
  return maxDay !== undefined && day >= 1 && day <= maxDay;
}

/** The UTC calendar day of an epoch-milliseconds instant. */
export function utcDateOf(ms: number): string {
  return fromDayNumber(Math.floor(ms / 86_400_000));
}

/** Days since 1970-01-01 (negative before). Throws DateFormatError on anything but a real calendar day. */
export function dayNumber(date: string): number {
  const { year, month, day } = parse(date);
  return daysFromCivil(year, month, day);
}

/** The `YYYY-MM-DD` string of a day number. */
export function fromDayNumber(n: number): string {
  if (!Number.isInteger(n)) throw new DateFormatError(`day number must be an integer, got ${n}`);
  const { year, month, day } = civilFromDays(n);
  if (year < 0 || year > 9999) throw new DateFormatError(`day ${n} is outside years 0000..9999`);
  return `${String(year).padStart(4, '0')}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}

export function addDays(date: string, days: number): string {
  return fromDayNumber(dayNumber(date) + days);
}

/** `to - from` in days: positive when `to` is later. */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** ISO weekday: 1 = Monday .. 7 = Sunday. */
export function isoWeekday(date: string): number {
  // Day 0 (1970-01-01) was a Thursday (ISO 4).
  return ((((dayNumber(date) + 3) % 7) + 7) % 7) + 1;
}

/** Monday of the ISO week (Monday..Sunday) holding `date`: the key of event-time weeks. */
export function mondayOf(date: string): string {
  const n = dayNumber(date);
  return fromDayNumber(n - ((((n + 3) % 7) + 7) % 7));
}

/** Everything the feature step needs from a date, from one parse. */
export interface DateParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** Days since 1970-01-01. */
  readonly dayNumber: number;
  /** 1..366 */
  readonly dayOfYear: number;
  readonly daysInYear: number;
}

export function dateParts(date: string): DateParts {
  const { year, month: m, day } = parse(date);
  const n = daysFromCivil(year, m, day);
  return {
    year,
    month: m,
    day,
    dayNumber: n,
    dayOfYear: n - daysFromCivil(year, 1, 1) + 1,
    daysInYear: isLeap(year) ? 366 : 365,
  };
}

/** Month 1..12. */
export function month(date: string): number {
  return parse(date).month;
}

/** Day of the year, 1..366. */
export function dayOfYear(date: string): number {
  const { year, month: m, day } = parse(date);
  return daysFromCivil(year, m, day) - daysFromCivil(year, 1, 1) + 1;
}

/** Number of days in the year of `date` (365 or 366). */
export function daysInYear(date: string): number {
  return isLeap(parse(date).year) ? 366 : 365;
}

/** Meteorological season of the southern hemisphere, where every weatherAUS station lies: DJF is summer. */
export function season(date: string): Season {
  const m = month(date);
  if (m === 12 || m <= 2) return 'summer';
  if (m <= 5) return 'autumn';
  if (m <= 8) return 'winter';
  return 'spring';
}
