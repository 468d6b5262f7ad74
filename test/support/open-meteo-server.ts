/**
 * A stand-in for Open-Meteo's archive and forecast APIs, for tests: a real HTTP server on 127.0.0.1
 * that answers `/v1/archive` and `/v1/forecast` in Open-Meteo's layout (../shared/data/SOURCE.md) for
 * the requested place, days, time zone and variables, with values computed deterministically from the
 * grid cell and the instant (`syntheticHourly`, which tests use as the truth). Like the real API, it
 * labels every hour at one fixed UTC offset, the zone's offset at the server's `now`, ignoring daylight
 * saving within the series (open-meteo/open-meteo#488); `labels: 'wall-clock'` labels by the local
 * clock instead (days of 23 and 25 hours), as a DST-aware API might, and then reports the offset of the
 * series' first hour. Faults are queued, one consumed per request.
 *
 * The time-zone arithmetic here is written independently of producers/open-meteo/local-time.ts, so a
 * mistake there is not mirrored here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export type Labelling = 'fixed-offset' | 'wall-clock';

export type Fault =
  /** Open-Meteo's error body, HTTP 400 unless told. */
  | { kind: 'error-body'; reason: string; status?: number }
  /** HTTP 429 with Open-Meteo's error body, and Retry-After when given. */
  | { kind: 'rate-limit'; retryAfter?: string }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Any status with any body (a 500 page, a recorded answer, a truncated body), and Retry-After when given. */
  | { kind: 'raw'; status: number; body: string; contentType?: string; retryAfter?: string }
  /** HTTP 200 and the first `bytes` of the normal answer, then nothing more on an open socket. */
  | { kind: 'stall-body'; bytes: number }
  /** HTTP 302 to `location` (default: a path that redirects to itself, a redirect loop). */
  | { kind: 'redirect'; location?: string }
  /** The normal answer, altered as JSON (a duplicated day, a wrong unit, an out-of-range value). */
  | { kind: 'transform'; transform: (answer: Record<string, unknown>) => unknown };

/** One value of the answer replaced: by hourly label (`2024-01-01T09:00`) or daily date. */
export interface ValueOverride {
  section: 'hourly' | 'daily';
  variable: string;
  time: string;
  value: number | null;
}

export interface AnswerOptions {
  /** The server's clock: the UTC offset of every label and the forecast API's today. */
  now: number;
  labels: Labelling;
  overrides: readonly ValueOverride[];
  /** The archive has no values for the last days before `now` (ERA5 is published late). */
  archiveDelayDays: number;
}

// ---------- the data ----------

const HOURLY = {
  temperature_2m: { unit: '°C', decimals: 1 },
  relative_humidity_2m: { unit: '%', decimals: 0 },
  pressure_msl: { unit: 'hPa', decimals: 1 },
  cloud_cover: { unit: '%', decimals: 0 },
  wind_speed_10m: { unit: 'km/h', decimals: 1 },
  wind_direction_10m: { unit: '°', decimals: 0 },
  wind_gusts_10m: { unit: 'km/h', decimals: 1 },
  precipitation: { unit: 'mm', decimals: 2 },
} as const;
export type SyntheticHourlyVariable = keyof typeof HOURLY;

const DAILY = {
  temperature_2m_max: { unit: '°C', decimals: 1 },
  temperature_2m_min: { unit: '°C', decimals: 1 },
  precipitation_sum: { unit: 'mm', decimals: 2 },
  sunshine_duration: { unit: 's', decimals: 2 },
  wind_gusts_10m_max: { unit: 'km/h', decimals: 1 },
  et0_fao_evapotranspiration: { unit: 'mm', decimals: 2 },
} as const;
export type SyntheticDailyVariable = keyof typeof DAILY;

/** The grid cell Open-Meteo would answer for: the nearest point of a 0.1° grid. */
export function gridCell(latitude: number, longitude: number): { latitude: number; longitude: number } {
  return { latitude: Math.round(latitude * 10) / 10, longitude: Math.round(longitude * 10) / 10 };
}

function noise(variable: string, latitude: number, longitude: number, hour: number): number {
  // FNV-1a over the inputs, then a xorshift mix: the same inputs give the same value on every run.
  let h = 0x811c9dc5;
  const text = `${variable}|${Math.round(latitude * 10)}|${Math.round(longitude * 10)}|${hour}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

const round = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;

/**
 * The value of an hourly variable at an instant (epoch ms on a whole hour) for a grid cell, exactly as
 * the answer prints it: seasons flipped south of the equator, a diurnal cycle by solar time, and noise.
 */
export function syntheticHourly(
  variable: SyntheticHourlyVariable,
  latitude: number,
  longitude: number,
  instantMs: number,
): number {
  const hour = Math.floor(instantMs / HOUR_MS);
  const n = noise(variable, latitude, longitude, hour);
  const dayOfYear = Math.floor((instantMs - Date.UTC(new Date(instantMs).getUTCFullYear(), 0, 1)) / DAY_MS);
  const season = Math.cos((2 * Math.PI * (dayOfYear - 196)) / 365.25) * (latitude >= 0 ? 1 : -1);
  const solarHour = ((((hour + longitude / 15) % 24) + 24) % 24) as number;
  const diurnal = Math.cos((2 * Math.PI * (solarHour - 15)) / 24);
  switch (variable) {
    case 'temperature_2m':
      return round(22 - Math.abs(latitude) * 0.25 + 8 * season + 6 * diurnal + 2 * (n - 0.5), 1);
    case 'relative_humidity_2m':
      return Math.min(100, Math.max(8, Math.round(65 - 20 * diurnal + 30 * (n - 0.5))));
    case 'pressure_msl':
      return round(1013 + 7 * Math.sin((2 * Math.PI * hour) / (24 * 5.3)) + 2 * (n - 0.5), 1);
    case 'cloud_cover':
      return n < 0.15 ? 0 : n > 0.9 ? 100 : Math.round(n * 100);
    case 'wind_speed_10m':
      return n < 0.08 ? 0 : round(3 + 25 * n, 1);
    case 'wind_direction_10m':
      return Math.round(n * 360);
    case 'wind_gusts_10m':
      return round(syntheticHourly('wind_speed_10m', latitude, longitude, instantMs) * 1.5 + 10 * n, 1);
    case 'precipitation': {
      // About one day in four is wet, with rain in some of its hours.
      const wetDay = noise('wet-day', latitude, longitude, Math.floor(hour / 24)) < 0.25;
      return wetDay && n > 0.6 ? round((n - 0.6) * 6, 1) : 0;
    }
  }
}

// ---------- time zones, written apart from the producer's ----------

function zoneParts(instantMs: number, timeZone: string): { wallMs: number; date: string } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(instantMs);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wallMs = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return { wallMs, date: new Date(wallMs).toISOString().slice(0, 10) };
}

function offsetSecondsAt(instantMs: number, timeZone: string): number {
  return Math.round((zoneParts(instantMs, timeZone).wallMs - Math.floor(instantMs / 60_000) * 60_000) / 1000);
}

function abbreviation(instantMs: number, timeZone: string): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'shortOffset' })
    .formatToParts(instantMs)
    .find((p) => p.type === 'timeZoneName')!.value;
  return name;
}

const label = (wallMs: number) => new Date(wallMs).toISOString().slice(0, 16);
const dateOf = (wallMs: number) => new Date(wallMs).toISOString().slice(0, 10);
const wallOfDate = (date: string) => Date.parse(`${date}T00:00:00Z`);

/** The hours of local day `date`: instant and label, in order. */
function hoursOfDay(
  date: string,
  timeZone: string,
  labels: Labelling,
  offsetSeconds: number,
): { instant: number; label: string }[] {
  const start = wallOfDate(date);
  if (labels === 'fixed-offset') {
    return Array.from({ length: 24 }, (_, h) => {
      const wall = start + h * HOUR_MS;
      return { instant: wall - offsetSeconds * 1000, label: label(wall) };
    });
  }
  const out: { instant: number; label: string }[] = [];
  for (let t = start - 15 * HOUR_MS; t < start + DAY_MS + 15 * HOUR_MS; t += HOUR_MS) {
    const local = zoneParts(t, timeZone);
    if (local.date === date) out.push({ instant: t, label: label(local.wallMs) });
  }
  return out;
}

// ---------- the answer ----------

export class StandInRequestError extends Error {
  readonly status: number;
  constructor(reason: string, status = 400) {
    super(reason);
    this.status = status;
  }
}

function parseList(params: URLSearchParams, name: string): string[] {
  return params
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

function isZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function requestedDays(endpoint: 'archive' | 'forecast', params: URLSearchParams, today: string): string[] {
  let first: string;
  let last: string;
  const start = params.get('start_date');
  const end = params.get('end_date');
  if (start !== null || end !== null || endpoint === 'archive') {
    if (start === null || end === null)
      throw new StandInRequestError("Parameter 'start_date' and 'end_date' are required");
    if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(wallOfDate(start))) {
      throw new StandInRequestError(`Invalid date format for start_date: ${start}`);
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(end) || Number.isNaN(wallOfDate(end))) {
      throw new StandInRequestError(`Invalid date format for end_date: ${end}`);
    }
    if (end < start) throw new StandInRequestError('End-date must be larger or equals than start-date');
    [first, last] = [start, end];
  } else {
    const past = Number(params.get('past_days') ?? '0');
    const forecast = Number(params.get('forecast_days') ?? '7');
    if (!Number.isInteger(past) || past < 0 || past > 92) {
      throw new StandInRequestError(`Parameter 'past_days' must be between 0 and 92`);
    }
    if (!Number.isInteger(forecast) || forecast < 0 || forecast > 16) {
      throw new StandInRequestError(`Parameter 'forecast_days' must be between 0 and 16`);
    }
    first = dateOf(wallOfDate(today) - past * DAY_MS);
    last = dateOf(wallOfDate(today) + (forecast - 1) * DAY_MS);
  }
  const days: string[] = [];
  for (let t = wallOfDate(first); t <= wallOfDate(last); t += DAY_MS) days.push(dateOf(t));
  if (days.length > 366 * 5) throw new StandInRequestError('Too many days requested');
  return days;
}

function formatValues(values: readonly (number | null)[], decimals: number): string {
  return `[${values.map((v) => (v === null ? 'null' : v.toFixed(decimals))).join(',')}]`;
}

/**
 * The body Open-Meteo would send for this request (pure). Throws StandInRequestError for a request the
 * API refuses, with the reason its error body carries.
 */
export function buildOpenMeteoAnswer(
  endpoint: 'archive' | 'forecast',
  params: URLSearchParams,
  options: AnswerOptions,
): string {
  const latitude = Number(params.get('latitude'));
  const longitude = Number(params.get('longitude'));
  if (params.get('latitude') === null || !(latitude >= -90 && latitude <= 90)) {
    throw new StandInRequestError(
      `Latitude must be in range of -90 to 90°. Given: ${params.get('latitude')}.`,
    );
  }
  if (params.get('longitude') === null || !(longitude >= -180 && longitude <= 180)) {
    throw new StandInRequestError(
      `Longitude must be in range of -180 to 180°. Given: ${params.get('longitude')}.`,
    );
  }
  const timeZone = params.get('timezone') ?? 'GMT';
  if (!isZone(timeZone) || timeZone === 'auto')
    throw new StandInRequestError(`Invalid timezone '${timeZone}'`);
  for (const [name, allowed] of [
    ['temperature_unit', 'celsius'],
    ['wind_speed_unit', 'kmh'],
    ['precipitation_unit', 'mm'],
    ['timeformat', 'iso8601'],
  ] as const) {
    const given = params.get(name);
    if (given !== null && given !== allowed)
      throw new StandInRequestError(`the stand-in serves ${name}=${allowed} only`);
  }
  const daily = parseList(params, 'daily');
  const hourly = parseList(params, 'hourly');
  for (const v of daily) {
    if (!(v in DAILY)) {
      throw new StandInRequestError(`Cannot initialize DailyVariable from invalid String value ${v}.`);
    }
  }
  for (const v of hourly) {
    if (!(v in HOURLY)) {
      throw new StandInRequestError(`Cannot initialize HourlyVariable from invalid String value ${v}.`);
    }
  }
  const nowOffsetSeconds = offsetSecondsAt(options.now, timeZone);
  const today = dateOf(options.now + nowOffsetSeconds * 1000);
  const days = requestedDays(endpoint, params, today);
  const reportedAt =
    options.labels === 'fixed-offset' || days.length === 0
      ? options.now
      : hoursOfDay(days[0]!, timeZone, 'wall-clock', 0)[0]!.instant;
  const offsetSeconds = offsetSecondsAt(reportedAt, timeZone);
  const cell = gridCell(latitude, longitude);
  const publishedUntil =
    endpoint === 'archive' ? options.now - options.archiveDelayDays * DAY_MS : Number.POSITIVE_INFINITY;

  const override = new Map(options.overrides.map((o) => [`${o.section}|${o.variable}|${o.time}`, o.value]));
  const value = (section: 'hourly' | 'daily', variable: string, time: string, computed: number | null) => {
    const key = `${section}|${variable}|${time}`;
    return override.has(key) ? override.get(key)! : computed;
  };

  const hourLabels: string[] = [];
  const hourly_: Record<string, (number | null)[]> = Object.fromEntries(hourly.map((v) => [v, []]));
  const daily_: Record<string, (number | null)[]> = Object.fromEntries(daily.map((v) => [v, []]));
  for (const date of days) {
    const hours = hoursOfDay(date, timeZone, options.labels, offsetSeconds);
    const at = (v: SyntheticHourlyVariable, instant: number) =>
      instant > publishedUntil ? null : syntheticHourly(v, cell.latitude, cell.longitude, instant);
    for (const h of hours) {
      hourLabels.push(h.label);
      for (const v of hourly) {
        hourly_[v]!.push(value('hourly', v, h.label, at(v as SyntheticHourlyVariable, h.instant)));
      }
    }
    const series = (v: SyntheticHourlyVariable) => hours.map((h) => at(v, h.instant));
    const complete = (xs: (number | null)[]) => (xs.some((x) => x === null) ? null : (xs as number[]));
    const temps = complete(series('temperature_2m'));
    const gusts = complete(series('wind_gusts_10m'));
    const rain = complete(series('precipitation'));
    const clouds = complete(series('cloud_cover'));
    const computed: Record<SyntheticDailyVariable, number | null> = {
      temperature_2m_max: temps && Math.max(...temps),
      temperature_2m_min: temps && Math.min(...temps),
      precipitation_sum:
        rain &&
        round(
          rain.reduce((a, b) => a + b, 0),
          2,
        ),
      wind_gusts_10m_max: gusts && Math.max(...gusts),
      sunshine_duration:
        clouds &&
        round(
          hours.reduce((sum, h, i) => {
            const solar = (((h.instant / HOUR_MS + cell.longitude / 15) % 24) + 24) % 24;
            return solar >= 6 && solar < 18 ? sum + 3600 * (1 - clouds[i]! / 100) * 0.9 : sum;
          }, 0),
          2,
        ),
      et0_fao_evapotranspiration:
        temps &&
        round(
          Math.max(
            0,
            0.0023 *
              (temps.reduce((a, b) => a + b, 0) / temps.length + 17.8) *
              Math.sqrt(Math.max(...temps) - Math.min(...temps)) *
              12,
          ),
          2,
        ),
    };
    for (const v of daily) daily_[v]!.push(value('daily', v, date, computed[v as SyntheticDailyVariable]));
  }

  // Built by hand to print numbers as Open-Meteo does (0.00, 21.0), in its key order.
  const fields: string[] = [
    `"latitude":${cell.latitude}`,
    `"longitude":${cell.longitude}`,
    `"generationtime_ms":0.5`,
    `"utc_offset_seconds":${offsetSeconds}`,
    `"timezone":${JSON.stringify(timeZone)}`,
    `"timezone_abbreviation":${JSON.stringify(abbreviation(reportedAt, timeZone))}`,
    `"elevation":${Math.round(Math.abs(cell.latitude * 13 + cell.longitude * 7))}.0`,
  ];
  if (hourly.length > 0) {
    const units = hourly.map(
      (v) => `${JSON.stringify(v)}:${JSON.stringify(HOURLY[v as SyntheticHourlyVariable].unit)}`,
    );
    fields.push(`"hourly_units":{"time":"iso8601",${units.join(',')}}`);
    const columns = hourly.map(
      (v) =>
        `${JSON.stringify(v)}:${formatValues(hourly_[v]!, HOURLY[v as SyntheticHourlyVariable].decimals)}`,
    );
    fields.push(`"hourly":{"time":${JSON.stringify(hourLabels)},${columns.join(',')}}`);
  }
  if (daily.length > 0) {
    const units = daily.map(
      (v) => `${JSON.stringify(v)}:${JSON.stringify(DAILY[v as SyntheticDailyVariable].unit)}`,
    );
    fields.push(`"daily_units":{"time":"iso8601",${units.join(',')}}`);
    const columns = daily.map(
      (v) => `${JSON.stringify(v)}:${formatValues(daily_[v]!, DAILY[v as SyntheticDailyVariable].decimals)}`,
    );
    fields.push(`"daily":{"time":${JSON.stringify(days)},${columns.join(',')}}`);
  }
  return `{${fields.join(',')}}`;
}

// ---------- the server ----------

export interface StandInOptions {
  /** The server's clock (default: the real one). */
  now?: () => number;
  labels?: Labelling;
  archiveDelayDays?: number;
}

export interface ReceivedRequest {
  endpoint: string;
  params: URLSearchParams;
}

export interface SentAnswer {
  status: number;
  body: string;
}

export interface OpenMeteoStandIn {
  archiveUrl: string;
  forecastUrl: string;
  readonly requests: ReceivedRequest[];
  readonly answers: SentAnswer[];
  /** Queues faults; each request consumes the first one left, then answers normally. */
  inject(...faults: Fault[]): void;
  setOverrides(overrides: readonly ValueOverride[]): void;
  setLabels(labels: Labelling): void;
  close(): Promise<void>;
}

const LOOP_PATH = '/v1/redirect-loop';

export async function startOpenMeteoStandIn(options: StandInOptions = {}): Promise<OpenMeteoStandIn> {
  const now = options.now ?? (() => Date.now());
  let labels: Labelling = options.labels ?? 'fixed-offset';
  let overrides: readonly ValueOverride[] = [];
  const faults: Fault[] = [];
  const requests: ReceivedRequest[] = [];
  const answers: SentAnswer[] = [];

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    answers.push({ status, body });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(body);
  };
  const errorBody = (reason: string) => JSON.stringify({ error: true, reason });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const endpoint =
      url.pathname === '/v1/archive' ? 'archive' : url.pathname === '/v1/forecast' ? 'forecast' : null;
    requests.push({ endpoint: url.pathname, params: url.searchParams });
    if (url.pathname === LOOP_PATH) return send(res, 302, '', { location: LOOP_PATH });
    if (endpoint === null) return send(res, 404, errorBody(`no such endpoint ${url.pathname}`));
    const fault = faults.shift();
    if (fault?.kind === 'hang') return; // the socket stays open until close()
    if (fault?.kind === 'redirect') return send(res, 302, '', { location: fault.location ?? LOOP_PATH });
    if (fault?.kind === 'error-body') return send(res, fault.status ?? 400, errorBody(fault.reason));
    if (fault?.kind === 'rate-limit') {
      const headers: Record<string, string> =
        fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
      return send(
        res,
        429,
        errorBody('Minutely API request limit exceeded. Please try again in one minute.'),
        headers,
      );
    }
    if (fault?.kind === 'raw') {
      return send(res, fault.status, fault.body, {
        ...(fault.contentType ? { 'content-type': fault.contentType } : {}),
        ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }),
      });
    }
    let body: string;
    try {
      body = buildOpenMeteoAnswer(endpoint, url.searchParams, {
        now: now(),
        labels,
        overrides,
        archiveDelayDays: options.archiveDelayDays ?? 5,
      });
    } catch (error) {
      if (error instanceof StandInRequestError) return send(res, error.status, errorBody(error.message));
      return send(res, 500, errorBody(`stand-in failure: ${(error as Error).message}`));
    }
    if (fault?.kind === 'transform') body = JSON.stringify(fault.transform(JSON.parse(body)));
    if (fault?.kind === 'stall-body') {
      answers.push({ status: 200, body: body.slice(0, fault.bytes) });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.write(body.slice(0, fault.bytes));
      return; // the rest never comes; the socket stays open until close()
    }
    send(res, 200, body);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    archiveUrl: `${base}/v1/archive`,
    forecastUrl: `${base}/v1/forecast`,
    requests,
    answers,
    inject: (...f) => faults.push(...f),
    setOverrides: (o) => {
      overrides = o;
    },
    setLabels: (l) => {
      labels = l;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
