import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import {
  COMPASS_POINTS,
  DIRECTION_FIELDS,
  NUMERIC_FIELDS,
  type CompassPoint,
  type Observation,
} from './observation.ts';

/** One CSV data row: a valid observation, or the reason it was rejected (for the DLQ). */
export type CsvRow =
  | { ok: true; line: number; observation: Observation; rainTomorrow: boolean | null }
  | { ok: false; line: number; raw: string; field: string; reason: string };

const REQUIRED_COLUMNS = [
  'Date',
  'Location',
  'RainToday',
  ...Object.values(NUMERIC_FIELDS).map((f) => f.column),
  ...Object.values(DIRECTION_FIELDS),
];
const COMPASS = new Set<string>(COMPASS_POINTS);
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCATION_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export class CsvHeaderError extends Error {
  readonly code = 'CSV_HEADER';
}

/** True when `date` is a real calendar day in `YYYY-MM-DD` form. */
export function isIsoDate(date: string): boolean {
  const m = DATE_RE.exec(date);
  if (!m) return false;
  const d = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(date);
}

function parseYesNo(value: string): boolean | null | undefined {
  if (value === 'Yes') return true;
  if (value === 'No') return false;
  if (value === 'NA' || value === '') return null;
  return undefined;
}

/**
 * Parses weatherAUS-shaped CSV text (columns found by header name, so any column order works).
 * `NA` and empty cells become null. Rows that cannot be trusted are returned with a reason, never dropped
 * silently and never coerced to a default.
 */
export function parseWeatherCsv(text: string, source = 'weatherAUS'): CsvRow[] {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').replace(/\r$/, '').split(',');
  const index = new Map(header.map((name, i) => [name.trim(), i]));
  const missing = REQUIRED_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) throw new CsvHeaderError(`CSV header lacks columns: ${missing.join(', ')}`);
  const col = (name: string) => index.get(name)!;
  const numeric = Object.entries(NUMERIC_FIELDS).map(([key, f]) => ({ key, ...f, at: col(f.column) }));
  const directions = Object.entries(DIRECTION_FIELDS).map(([key, column]) => ({
    key,
    column,
    at: col(column),
  }));
  const dateAt = col('Date');
  const locationAt = col('Location');
  const rainTodayAt = col('RainToday');
  const rainTomorrowAt = index.get('RainTomorrow');

  const rows: CsvRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw === '') continue;
    const line = i + 1;
    const cells = raw.split(',');
    const reject = (field: string, reason: string): void => {
      rows.push({ ok: false, line, raw, field, reason });
    };
    if (cells.length !== header.length) {
      reject('row', `expected ${header.length} columns, found ${cells.length}`);
      continue;
    }
    const date = cells[dateAt]!.trim();
    if (!isIsoDate(date)) {
      reject('Date', `not a calendar date in YYYY-MM-DD form: ${JSON.stringify(date)}`);
      continue;
    }
    const location = cells[locationAt]!.trim();
    if (!LOCATION_RE.test(location)) {
      reject('Location', `not a station name: ${JSON.stringify(location)}`);
      continue;
    }
    const obs: Record<string, unknown> = { location, date, source };
    let bad = false;
    for (const f of numeric) {
      const cell = cells[f.at]!.trim();
      if (cell === 'NA' || cell === '') {
        obs[f.key] = null;
        continue;
      }
      const value = Number(cell);
      if (!Number.isFinite(value)) {
        reject(f.column, `not a number: ${JSON.stringify(cell)}`);
        bad = true;
        break;
      }
      if (value < f.min || value > f.max) {
        reject(f.column, `${value} outside the physical range [${f.min}, ${f.max}]`);
        bad = true;
        break;
      }
      obs[f.key] = value;
    }
    if (bad) continue;
    for (const d of directions) {
      const cell = cells[d.at]!.trim();
      if (cell === 'NA' || cell === '') obs[d.key] = null;
      else if (COMPASS.has(cell)) obs[d.key] = cell as CompassPoint;
      else {
        reject(d.column, `not a 16-point compass direction: ${JSON.stringify(cell)}`);
        bad = true;
        break;
      }
    }
    if (bad) continue;
    const rainToday = parseYesNo(cells[rainTodayAt]!.trim());
    if (rainToday === undefined) {
      reject('RainToday', `expected Yes, No or NA: ${JSON.stringify(cells[rainTodayAt])}`);
      continue;
    }
    obs.rainToday = rainToday;
    const rainTomorrow =
      rainTomorrowAt === undefined ? null : (parseYesNo(cells[rainTomorrowAt]!.trim()) ?? null);
    rows.push({ ok: true, line, observation: obs as unknown as Observation, rainTomorrow });
  }
  return rows;
}

/** Reads a weatherAUS CSV file, gunzipping when the name ends in `.gz`. */
export async function readWeatherCsvFile(path: string, source = 'weatherAUS'): Promise<CsvRow[]> {
  const bytes = await readFile(path);
  const text = path.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return parseWeatherCsv(text, source);
}
