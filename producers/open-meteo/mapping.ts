import { TypedError } from '../../lib/platform/errors.ts';

/**
 * One Open-Meteo answer (daily + hourly) to one Observation per requested day of a station, in the
 * weatherAUS columns and units. Pure: the raw answer is kept on a raw topic, so a fix here can be
 * replayed over it without calling the API again.
 *
 * Decisions, each where it is implemented:
 * - Rainfall day: the Bureau's, 24 hours to 9am local time on the day, summed from hourly
 *   `precipitation` (rainDayWindow). Open-Meteo's daily `precipitation_sum` runs midnight to midnight;
 *   using it would shift every live rain event by up to 9 hours against the definition the models were
 *   trained on, and RainTomorrow (the label) is the next day's Rainfall > 1 mm.
 * - 9am and 3pm: found by the station's local clock (HourlyIndex.indexOfLocal), so days of 23 or 25
 *   hours and zones whose offset Open-Meteo does not track are read at the right hour.
 * - Evaporation is FAO-56 reference evapotranspiration (`et0_fao_evapotranspiration`): what a grass
 *   surface would evaporate, modelled, not the Bureau's Class A pan evaporation, which runs higher.
 *   It is the nearest quantity Open-Meteo has; its scale differs from the data set's column.
 * - MinTemp, MaxTemp, Sunshine, WindGustSpeed and Evaporation are Open-Meteo's daily aggregates over
 *   its local day, midnight to midnight (the Bureau takes MinTemp over the 24 hours to 9am).
 * - What Open-Meteo does not give (a null in its arrays) stays null. A day with no value at all is
 *   rejected (the archive answers nulls for days it has not published yet), never emitted empty.
 * - Every requested day ends as an observation or a rejection with field and reason: out of physical
 *   range, malformed, missing from the answer, or an answer that cannot be read at all.
 */
import { addDays, dayNumber, daysBetween } from '../../lib/domain/time.ts';
import { NUMERIC_FIELDS, type NumericField, type Observation } from '../../lib/domain/weather/observation.ts';
import { checkMeasurement, checkMeasurements, firstIssue } from '../../lib/domain/weather/validation.ts';
import { cloudPercentToOktas, roundTo, secondsToHours, windDirection, windSpeedKmh } from './conversions.ts';
import { formatWallClock, instantOfLocal, offsetMsAt, parseWallClock, sameTimeZone } from './local-time.ts';
import { parseOpenMeteoBody, type OpenMeteoResponse } from './response.ts';
import type { HourlyVariable } from './request.ts';
import type { LiveStation } from './stations.ts';

export const OPEN_METEO_SOURCE = 'open-meteo';

export interface DayRejection {
  station: string;
  date: string;
  /** The Observation field at fault, or the answer's field when the whole answer is unusable. */
  field: string;
  reason: string;
}

export interface DayRange {
  /** First and last day wanted, inclusive, `YYYY-MM-DD` station local. */
  from: string;
  to: string;
}

export interface MappedDays {
  /** In the answer's order; a day the answer repeats appears twice (fetch-days.ts dedupes). */
  observations: Observation[];
  rejections: DayRejection[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Positions of the hourly series by time. Open-Meteo labels every hour of a response at one fixed UTC
 * offset, the zone's offset at the time of the request (`utc_offset_seconds`), and does not follow
 * daylight saving within the series (open-meteo/open-meteo#488, #1255): a summer day fetched in winter
 * is labelled an hour off its clock. So a label is read as the instant `label - utc_offset_seconds`,
 * and local 09:00 is the label of the instant at which the station's clock (IANA zone) reads 09:00.
 * A series whose steps are not all one hour can only be one labelled by the local clock itself (a
 * repeated or skipped hour at a transition), as Open-Meteo may do one day: then 09:00 is read by label.
 * (Should it do so, a series without a transition still reads right only if `utc_offset_seconds` is
 * the offset of its own hours; nothing in such an answer would tell otherwise.)
 */
class HourlyIndex {
  readonly mode: 'fixed-offset' | 'wall-clock';
  private readonly byLabel = new Map<string, number>();
  private readonly offsetMs: number;
  readonly labels: readonly string[];

  private constructor(labels: readonly string[], offsetSeconds: number, mode: 'fixed-offset' | 'wall-clock') {
    this.labels = labels;
    this.offsetMs = offsetSeconds * 1000;
    this.mode = mode;
    labels.forEach((label, i) => {
      if (!this.byLabel.has(label)) this.byLabel.set(label, i);
    });
  }

  static build(labels: readonly string[], offsetSeconds: number, timeZone: string): HourlyIndex | string {
    const wall = new Float64Array(labels.length);
    let uniform = true;
    for (let i = 0; i < labels.length; i++) {
      wall[i] = parseWallClock(labels[i]!);
      if (Number.isNaN(wall[i])) return `hourly.time[${i}] ${JSON.stringify(labels[i])} is not a clock time`;
      if (i === 0) continue;
      const step = wall[i]! - wall[i - 1]!;
      if (step < 0 || step > 2 * HOUR_MS) {
        return `hourly.time jumps from ${labels[i - 1]} to ${labels[i]}: not consecutive hours`;
      }
      if (step !== HOUR_MS) {
        // Only a clock change repeats or skips an hour: anywhere else the series lacks or doubles one,
        // and read by its labels the day would have 23 or 25 hours of rain.
        if (offsetMsAt(wall[i]! - DAY_MS, timeZone) === offsetMsAt(wall[i]! + DAY_MS, timeZone)) {
          return `hourly.time goes from ${labels[i - 1]} to ${labels[i]}, with no daylight-saving change of ${timeZone} near`;
        }
        uniform = false;
      }
    }
    return new HourlyIndex(labels, offsetSeconds, uniform ? 'fixed-offset' : 'wall-clock');
  }

  /** Index of the hour at which the station's clock reads `date hour:00`, or -1 if not in the answer. */
  indexOfLocal(date: string, hour: number, timeZone: string): number {
    const label =
      this.mode === 'fixed-offset'
        ? formatWallClock(instantOfLocal(date, hour, 0, timeZone) + this.offsetMs)
        : `${date}T${String(hour).padStart(2, '0')}:00`;
    return this.byLabel.get(label) ?? -1;
  }

  /** Indices of the hours labelled with `date`: Open-Meteo's own day, over which it aggregates. */
  dayRange(date: string): [number, number] {
    const start = this.byLabel.get(`${date}T00:00`) ?? -1;
    if (start < 0) return [0, 0];
    let end = start;
    while (end < this.labels.length && this.labels[end]!.startsWith(date)) end++;
    return [start, end];
  }
}

type Outcome = { ok: true; observation: Observation } | { ok: false; field: string; reason: string };

/** Thrown inside mapDay only, and caught per day: it never leaves this module. */
class DayRejected extends TypedError<'DAY_REJECTED'> {
  readonly field: string;
  readonly reason: string;

  constructor(field: string, reason: string) {
    super('DAY_REJECTED', reason);
    this.field = field;
    this.reason = reason;
  }
}

/** The reading, or the day rejected by the domain validation's rule for the field (range, whole oktas). */
function checked(field: NumericField, value: number | null, what: string): number | null {
  const issue = checkMeasurement(field, value);
  if (issue) throw new DayRejected(field, `${what} = ${value}: ${issue.reason}`);
  return value;
}

function checkedRaw(
  field: string,
  value: number | null,
  min: number,
  max: number,
  what: string,
): number | null {
  if (value !== null && !(value >= min && value <= max)) {
    throw new DayRejected(field, `${what} = ${value} outside [${min}, ${max}]`);
  }
  return value;
}

/**
 * Sum of hourly `precipitation` over the Bureau's rainfall day of `date`: the hours ending after 09:00
 * local on the day before, up to and including 09:00 local on the day (each hourly value is the sum
 * of the hour before its label). Null when any hour is missing or the answer does not reach back.
 */
function rainDayWindow(
  r: OpenMeteoResponse,
  hours: HourlyIndex,
  date: string,
  timeZone: string,
): { value: number | null; from: string; to: string } {
  const end = hours.indexOfLocal(date, 9, timeZone);
  const start = hours.indexOfLocal(addDays(date, -1), 9, timeZone);
  if (start < 0 || end < 0 || end - start < 22 || end - start > 26) return { value: null, from: '', to: '' };
  let sum = 0;
  for (let i = start + 1; i <= end; i++) {
    const v = r.hourly.precipitation[i]!;
    if (v === null) return { value: null, from: '', to: '' };
    if (!(v >= 0 && v <= 500)) {
      throw new DayRejected('rainfall', `precipitation at ${hours.labels[i]} = ${v} outside [0, 500] mm/h`);
    }
    sum += v;
  }
  return { value: roundTo(sum, 1), from: hours.labels[start + 1]!, to: hours.labels[end]! };
}

/** Hour of the day's strongest hourly gust (the first of equals), or -1 when the day has none. */
function strongestGustHour(r: OpenMeteoResponse, hours: HourlyIndex, date: string): number {
  const [start, end] = hours.dayRange(date);
  let best = -1;
  let bestValue = -Infinity;
  for (let i = start; i < end; i++) {
    const v = r.hourly.wind_gusts_10m[i]!;
    if (v === null) continue;
    checkedRaw('windGustDir', v, 0, 400, `wind_gusts_10m at ${hours.labels[i]}`);
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

function mapDay(r: OpenMeteoResponse, hours: HourlyIndex, i: number, station: LiveStation): Observation {
  const date = r.daily.time[i]!;
  const tz = station.timezone;
  const at9 = hours.indexOfLocal(date, 9, tz);
  const at15 = hours.indexOfLocal(date, 15, tz);
  const hourly = (variable: HourlyVariable, at: number): number | null =>
    at < 0 ? null : r.hourly[variable][at]!;
  const label = (at: number) => hours.labels[at];

  const maxTemp = checked('maxTemp', roundOrNull(r.daily.temperature_2m_max[i]!, 1), 'temperature_2m_max');
  const minTemp = checked('minTemp', roundOrNull(r.daily.temperature_2m_min[i]!, 1), 'temperature_2m_min');
  const sunshineSeconds = checkedRaw(
    'sunshine',
    r.daily.sunshine_duration[i]!,
    0,
    86_400,
    'sunshine_duration (s)',
  );
  const sunshine = checked(
    'sunshine',
    sunshineSeconds === null ? null : secondsToHours(sunshineSeconds),
    'sunshine_duration (h)',
  );
  const evaporation = checked(
    'evaporation',
    roundOrNull(r.daily.et0_fao_evapotranspiration[i]!, 1),
    'et0_fao_evapotranspiration',
  );
  const gustSpeed = r.daily.wind_gusts_10m_max[i]!;
  const windGustSpeed = checked(
    'windGustSpeed',
    gustSpeed === null ? null : windSpeedKmh(gustSpeed),
    'wind_gusts_10m_max',
  );
  const rain = rainDayWindow(r, hours, date, tz);
  const rainfall = checked('rainfall', rain.value, `precipitation ${rain.from}..${rain.to}`);

  const gustAt = strongestGustHour(r, hours, date);
  const gustDegrees = checkedRaw(
    'windGustDir',
    hourly('wind_direction_10m', gustAt),
    0,
    360,
    `wind_direction_10m at ${label(gustAt)}`,
  );

  const at = (field: NumericField, variable: HourlyVariable, hourAt: number, decimals: number) =>
    checked(field, roundOrNull(hourly(variable, hourAt), decimals), `${variable} at ${label(hourAt)}`);
  const cloud = (field: 'cloud9am' | 'cloud3pm', hourAt: number): number | null => {
    const pct = checkedRaw(
      field,
      hourly('cloud_cover', hourAt),
      0,
      100,
      `cloud_cover at ${label(hourAt)} (%)`,
    );
    return pct === null ? null : cloudPercentToOktas(pct);
  };
  const direction = (field: 'windDir9am' | 'windDir3pm', hourAt: number) => {
    const deg = checkedRaw(
      field,
      hourly('wind_direction_10m', hourAt),
      0,
      360,
      `wind_direction_10m at ${label(hourAt)}`,
    );
    return windDirection(deg, hourly('wind_speed_10m', hourAt));
  };
  const windSpeed = (field: 'windSpeed9am' | 'windSpeed3pm', hourAt: number) => {
    const v = hourly('wind_speed_10m', hourAt);
    return checked(field, v === null ? null : windSpeedKmh(v), `wind_speed_10m at ${label(hourAt)}`);
  };

  // Key order is Observation's, so an encoded event reads the same as a replayed one.
  const observation: Observation = {
    location: station.name,
    date,
    minTemp,
    maxTemp,
    rainfall,
    evaporation,
    sunshine,
    windGustDir: windDirection(gustDegrees, gustSpeed),
    windGustSpeed,
    windDir9am: direction('windDir9am', at9),
    windDir3pm: direction('windDir3pm', at15),
    windSpeed9am: windSpeed('windSpeed9am', at9),
    windSpeed3pm: windSpeed('windSpeed3pm', at15),
    humidity9am: at('humidity9am', 'relative_humidity_2m', at9, 0),
    humidity3pm: at('humidity3pm', 'relative_humidity_2m', at15, 0),
    pressure9am: at('pressure9am', 'pressure_msl', at9, 1),
    pressure3pm: at('pressure3pm', 'pressure_msl', at15, 1),
    cloud9am: cloud('cloud9am', at9),
    cloud3pm: cloud('cloud3pm', at15),
    temp9am: at('temp9am', 'temperature_2m', at9, 1),
    temp3pm: at('temp3pm', 'temperature_2m', at15, 1),
    rainToday: rainfall === null ? null : rainfall > 1,
    source: OPEN_METEO_SOURCE,
  };
  if (MEASUREMENTS.every((k) => observation[k] === null)) {
    throw new DayRejected('date', 'Open-Meteo has no value for this day (not published yet?)');
  }
  // The rules between readings (max >= min, rain, wind, temperatures), as for every other source.
  const issues = checkMeasurements(observation);
  if (issues.length > 0) {
    const { field, reason } = firstIssue(issues);
    throw new DayRejected(field, reason);
  }
  return observation;
}

const MEASUREMENTS = [
  ...(Object.keys(NUMERIC_FIELDS) as NumericField[]),
  'windGustDir',
  'windDir9am',
  'windDir3pm',
] as const;

function roundOrNull(value: number | null, decimals: number): number | null {
  return value === null ? null : roundTo(value, decimals);
}

function everyDay(range: DayRange): string[] {
  const days: string[] = [];
  for (let d = range.from; daysBetween(d, range.to) >= 0; d = addDays(d, 1)) days.push(d);
  return days;
}

function rejectAll(station: LiveStation, range: DayRange, field: string, reason: string): MappedDays {
  return {
    observations: [],
    rejections: everyDay(range).map((date) => ({
      station: station.name,
      date,
      field,
      reason: `answer unusable: ${reason}`,
    })),
  };
}

function isCalendarDay(date: string): boolean {
  try {
    dayNumber(date);
    return true;
  } catch {
    return false;
  }
}

export interface MapOptions {
  /** ISO instant the answer was fetched: Open-Meteo labels it at the zone's offset of that time. */
  fetchedAt?: string;
}

const WEEK_MS = 7 * DAY_MS;

/**
 * Whether the zone has the offset at some time within a year of the range (weekly, so daylight saving
 * and Ramadan are seen), or on the day the answer was fetched: the offsets Open-Meteo may label it at.
 * Any other offset puts every hourly label at another hour of the station's clock: its 9am readings
 * would be another hour's, silently, so the answer is refused.
 */
function isOffsetOfZone(
  offsetSeconds: number,
  timeZone: string,
  range: DayRange,
  fetchedAt?: string,
): boolean {
  const offsetMs = offsetSeconds * 1000;
  const fetched = fetchedAt === undefined ? NaN : Date.parse(fetchedAt);
  if (!Number.isNaN(fetched)) {
    for (const at of [fetched - DAY_MS, fetched, fetched + DAY_MS]) {
      if (offsetMsAt(at, timeZone) === offsetMs) return true;
    }
  }
  const end = (dayNumber(range.to) + 366) * DAY_MS;
  for (let at = (dayNumber(range.from) - 366) * DAY_MS; at <= end; at += WEEK_MS) {
    if (offsetMsAt(at, timeZone) === offsetMs) return true;
  }
  return false;
}

/** Maps a parsed answer; days outside `range` (the extra day before it, a forecast's today) are skipped. */
export function mapOpenMeteoResponse(
  r: OpenMeteoResponse,
  station: LiveStation,
  range: DayRange,
  options: MapOptions = {},
): MappedDays {
  if (!sameTimeZone(r.timezone, station.timezone)) {
    return rejectAll(station, range, 'timezone', `answered in ${r.timezone}, asked for ${station.timezone}`);
  }
  if (!isOffsetOfZone(r.utcOffsetSeconds, station.timezone, range, options.fetchedAt)) {
    return rejectAll(
      station,
      range,
      'utc_offset_seconds',
      `${r.utcOffsetSeconds} s is not an offset of ${station.timezone} near these days or when fetched`,
    );
  }
  const dLat = Math.abs(r.latitude - station.latitude);
  const dLon = Math.abs(((r.longitude - station.longitude + 540) % 360) - 180);
  if (dLat > 1 || dLon > 1) {
    return rejectAll(
      station,
      range,
      'latitude',
      `grid cell ${r.latitude}, ${r.longitude} is more than 1° from the station ${station.latitude}, ${station.longitude}`,
    );
  }
  const hours = HourlyIndex.build(r.hourly.time, r.utcOffsetSeconds, station.timezone);
  if (typeof hours === 'string') return rejectAll(station, range, 'hourly.time', hours);

  const out: MappedDays = { observations: [], rejections: [] };
  const seen = new Set<string>();
  r.daily.time.forEach((date, i) => {
    if (date < range.from || date > range.to) return;
    if (!isCalendarDay(date)) {
      out.rejections.push({ station: station.name, date, field: 'date', reason: 'not a calendar day' });
      return;
    }
    seen.add(date);
    const outcome = mapOne(r, hours, i, station);
    if (outcome.ok) out.observations.push(outcome.observation);
    else out.rejections.push({ station: station.name, date, field: outcome.field, reason: outcome.reason });
  });
  for (const date of everyDay(range)) {
    if (!seen.has(date)) {
      out.rejections.push({
        station: station.name,
        date,
        field: 'date',
        reason: 'day missing from the answer',
      });
    }
  }
  return out;
}

function mapOne(r: OpenMeteoResponse, hours: HourlyIndex, i: number, station: LiveStation): Outcome {
  try {
    return { ok: true, observation: mapDay(r, hours, i, station) };
  } catch (error) {
    if (error instanceof DayRejected) return { ok: false, field: error.field, reason: error.reason };
    throw error;
  }
}

/** Maps the text of an answer as fetched (or as read back from the raw topic). */
export function mapOpenMeteoBody(
  body: string,
  station: LiveStation,
  range: DayRange,
  options: MapOptions = {},
): MappedDays {
  const parsed = parseOpenMeteoBody(body);
  if (!parsed.ok) return rejectAll(station, range, parsed.field, parsed.reason);
  return mapOpenMeteoResponse(parsed.response, station, range, options);
}
