/**
 * weatherAUS-shaped CSV (columns found by header name, any order) to observations. Records come from the
 * RFC 4180 reader (./csv-reader.ts); cells are read strictly (numbers are strict decimals, `NA` or an
 * empty cell is a missing reading, nothing is trimmed or coerced), and each observation then passes the
 * domain validation (./validation.ts). A row that fails is returned with its exact bytes, the column at
 * fault and the reason: never dropped silently, never coerced to a default.
 */
import { readFile } from 'node:fs/promises';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import { loadConfig } from '../../platform/config.ts';
import { RainstreamError } from '../../platform/errors.ts';
import { loadStationRegistry, quoted } from '../stations.ts';
import { isCalendarDate } from '../time.ts';
import { csvRecords, type CsvReadOptions } from './csv-reader.ts';
import {
  COMPASS_POINTS,
  DIRECTION_FIELDS,
  NUMERIC_FIELDS,
  type CompassPoint,
  type NumericField,
  type Observation,
} from './observation.ts';
import {
  checkEventDate,
  checkMeasurements,
  observationRules,
  parseDecimal,
  type ObservationRules,
} from './validation.ts';

/** A CSV row that could not become an observation: where, its bytes, the column at fault and why. */
export interface RejectedCsvRow {
  ok: false;
  line: number;
  /** The row as text (undecodable bytes shown as U+FFFD). */
  raw: string;
  /** The row's exact bytes, without its line break. */
  bytes: Uint8Array;
  /** The CSV column at fault (`MaxTemp`), or `row` for a row that could not be read at all. */
  field: string;
  reason: string;
}

/** One CSV data row: a valid observation, or the reason it was rejected (for the DLQ). */
export type CsvRow =
  { ok: true; line: number; observation: Observation; rainTomorrow: boolean | null } | RejectedCsvRow;

const REQUIRED_COLUMNS = [
  'Date',
  'Location',
  'RainToday',
  ...Object.values(NUMERIC_FIELDS).map((f) => f.column),
  ...Object.values(DIRECTION_FIELDS),
];
const COMPASS = new Set<string>(COMPASS_POINTS);

/** The CSV column of each Observation field, for naming the column at fault. */
const COLUMN_OF: Readonly<Record<string, string>> = {
  location: 'Location',
  date: 'Date',
  rainToday: 'RainToday',
  source: 'source',
  ...Object.fromEntries(Object.entries(NUMERIC_FIELDS).map(([k, f]) => [k, f.column])),
  ...DIRECTION_FIELDS,
};

/**
 * A CSV none of whose rows can be read: empty, its header unreadable or without a required column
 * (`field` header), or a .gz file without readable gzip data (`field` file). `bytes` is its first line.
 */
export class CsvHeaderError extends RainstreamError {
  readonly field: 'header' | 'file';
  readonly bytes: Uint8Array;
  constructor(
    message: string,
    options: { field?: 'header' | 'file'; bytes?: Uint8Array; cause?: unknown } = {},
  ) {
    const field = options.field ?? 'header';
    super('VALIDATION', message, { details: { field }, cause: options.cause });
    this.name = 'CsvHeaderError';
    this.field = field;
    this.bytes = options.bytes ?? new Uint8Array(0);
  }
}

/** The refusal of a whole file as a rejected row at line 1, for the DLQ: its rows are not read. */
export function fileRejection(error: CsvHeaderError): RejectedCsvRow {
  return {
    ok: false,
    line: 1,
    raw: Buffer.from(error.bytes.buffer, error.bytes.byteOffset, error.bytes.byteLength).toString('utf8'),
    bytes: error.bytes,
    field: error.field,
    reason: `${error.message}; no row of the file is read`,
  };
}

/** True when `date` is a real calendar day in `YYYY-MM-DD` form. */
export function isIsoDate(date: string): boolean {
  return isCalendarDate(date);
}

export interface CsvParseOptions extends CsvReadOptions {
  /** Where the rows come from (the observation's `source`); default `weatherAUS`. */
  source?: string;
  /** Validation rules; default: the shipped configuration's, with the clock of now. */
  rules?: ObservationRules;
}

/** The rules of the default configuration (no environment), at `now`. */
export function defaultObservationRules(now = Date.now()): ObservationRules {
  const config = loadConfig({});
  return observationRules({
    eventTime: config.eventTime,
    stations: loadStationRegistry(config.openMeteo.stationsFile),
    now,
  });
}

function yesNo(value: string): boolean | null | undefined {
  if (value === 'Yes') return true;
  if (value === 'No') return false;
  if (value === 'NA' || value === '') return null;
  return undefined;
}

/**
 * Parses weatherAUS-shaped CSV text or bytes. Throws CsvHeaderError when the header lacks a column (no row
 * could be read; `fileRejection` makes it a rejected row); every other problem is a rejected row.
 */
export function parseWeatherCsv(
  input: string | Uint8Array,
  options: CsvParseOptions | string = {},
): CsvRow[] {
  const o: CsvParseOptions = typeof options === 'string' ? { source: options } : options;
  const source = o.source ?? 'weatherAUS';
  const rules = o.rules ?? defaultObservationRules();
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records = csvRecords(bytes, o);

  const first = records.next();
  if (first.done) throw new CsvHeaderError('the CSV is empty: no header');
  const headerBytes = buffer.subarray(first.value.start, first.value.end);
  const refuse = (message: string) => new CsvHeaderError(message, { bytes: headerBytes });
  const headerFields = first.value.fields;
  if (headerFields === null) throw refuse(`the CSV header cannot be read: ${first.value.error}`);
  if (headerFields.some((name) => name.includes('\r'))) {
    throw refuse('the line breaks are CR alone (old Mac text): records must end in LF or CRLF');
  }
  const header = headerFields.map((name) => name.trim());
  const index = new Map<string, number>();
  const twice = header.find((name, i) => header.indexOf(name) !== i);
  for (const [i, name] of header.entries()) if (!index.has(name)) index.set(name, i);
  const missing = REQUIRED_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) {
    // A file without its header line: its first row is read as one, and lacks every column.
    const data = isCalendarDate(header[0] ?? '')
      ? ' (line 1 is a data row: the file has no header line)'
      : '';
    throw refuse(`CSV header lacks columns: ${missing.join(', ')}${data}`);
  }
  if (twice !== undefined) throw refuse(`the CSV header names ${quoted(twice)} twice`);
  const at = (name: string) => index.get(name)!;
  // NUMERIC_FIELDS and DIRECTION_FIELDS are in Observation order; the literal below relies on it.
  const numeric = Object.entries(NUMERIC_FIELDS).map(([key, f]) => ({
    key: key as NumericField,
    column: f.column,
    at: at(f.column),
  }));
  const directions = Object.entries(DIRECTION_FIELDS).map(([key, column]) => ({
    key,
    column,
    at: at(column),
  }));
  const dateAt = at('Date');
  const locationAt = at('Location');
  const rainTodayAt = at('RainToday');
  const rainTomorrowAt = index.get('RainTomorrow');
  const width = header.length;

  const rows: CsvRow[] = [];
  for (const record of records) {
    const reject = (field: string, reason: string): void => {
      const raw = buffer.subarray(record.start, record.end);
      rows.push({ ok: false, line: record.line, raw: raw.toString('utf8'), bytes: raw, field, reason });
    };
    const cells = record.fields;
    if (cells === null) {
      reject('row', record.error ?? 'record cannot be read');
      continue;
    }
    if (cells.length !== width) {
      reject('row', `expected ${width} columns, found ${cells.length}`);
      continue;
    }
    const date = cells[dateAt]!;
    const dateIssue = checkEventDate(date, rules);
    if (dateIssue) {
      reject('Date', dateIssue.reason);
      continue;
    }
    const location = cells[locationAt]!;
    const stationIssue = rules.stations.check(location);
    if (stationIssue) {
      reject('Location', stationIssue.reason);
      continue;
    }
    const values: (number | null)[] = new Array(numeric.length);
    let bad = false;
    for (let i = 0; i < numeric.length; i++) {
      const f = numeric[i]!;
      const cell = cells[f.at]!;
      if (cell === 'NA' || cell === '') {
        values[i] = null;
        continue;
      }
      const value = parseDecimal(cell);
      if (value === undefined) {
        reject(f.column, `${quoted(cell, 32)} is not a decimal number (digits, an optional minus and point)`);
        bad = true;
        break;
      }
      values[i] = value;
    }
    if (bad) continue;
    const dirs: (CompassPoint | null)[] = new Array(directions.length);
    for (let i = 0; i < directions.length; i++) {
      const d = directions[i]!;
      const cell = cells[d.at]!;
      if (cell === 'NA' || cell === '') dirs[i] = null;
      else if (COMPASS.has(cell)) dirs[i] = cell as CompassPoint;
      else {
        reject(d.column, `${quoted(cell, 32)} is not a 16-point compass direction`);
        bad = true;
        break;
      }
    }
    if (bad) continue;
    const rainToday = yesNo(cells[rainTodayAt]!);
    if (rainToday === undefined) {
      reject('RainToday', `expected Yes, No or NA, got ${quoted(cells[rainTodayAt], 32)}`);
      continue;
    }
    const rainTomorrow = rainTomorrowAt === undefined ? null : yesNo(cells[rainTomorrowAt]!);
    if (rainTomorrow === undefined) {
      reject('RainTomorrow', `expected Yes, No or NA, got ${quoted(cells[rainTomorrowAt!], 32)}`);
      continue;
    }
    // One literal in Observation's key order: an encoded event reads the same whatever the column order,
    // and every observation has one shape.
    const observation: Observation = {
      location,
      date,
      minTemp: values[0]!,
      maxTemp: values[1]!,
      rainfall: values[2]!,
      evaporation: values[3]!,
      sunshine: values[4]!,
      windGustDir: dirs[0]!,
      windGustSpeed: values[5]!,
      windDir9am: dirs[1]!,
      windDir3pm: dirs[2]!,
      windSpeed9am: values[6]!,
      windSpeed3pm: values[7]!,
      humidity9am: values[8]!,
      humidity3pm: values[9]!,
      pressure9am: values[10]!,
      pressure3pm: values[11]!,
      cloud9am: values[12]!,
      cloud3pm: values[13]!,
      temp9am: values[14]!,
      temp3pm: values[15]!,
      rainToday,
      source,
    };
    const issues = checkMeasurements(observation);
    if (issues.length > 0) {
      const [issue] = issues;
      const more =
        issues.length > 1
          ? ` (and ${issues.length - 1} more: ${issues
              .slice(1)
              .map((i) => COLUMN_OF[i.field] ?? i.field)
              .join(', ')})`
          : '';
      reject(COLUMN_OF[issue!.field] ?? issue!.field, issue!.reason + more);
      continue;
    }
    rows.push({ ok: true, line: record.line, observation, rainTomorrow });
  }
  return rows;
}

/**
 * Reads a weatherAUS CSV file, gunzipping when the name ends in `.gz`. A .gz file cut short or corrupt
 * keeps the rows before the damage; the record the damage falls in (or, between records, the end of the
 * file) is a rejected row at its line, so the loss is on the DLQ rather than the whole file refused.
 * Throws CsvHeaderError naming `file` when no gzip data can be read at all.
 */
export async function readWeatherCsvFile(
  path: string,
  options: CsvParseOptions | string = {},
): Promise<CsvRow[]> {
  const bytes = await readFile(path);
  if (!path.endsWith('.gz')) return parseWeatherCsv(bytes, options);
  const { text, error } = await gunzipLeniently(bytes);
  if (error === null) return parseWeatherCsv(text, options);
  const damage = `the gzip data is cut short or corrupt after ${text.length} bytes of text (${error.message})`;
  // Only whole lines are parsed: a record the damage cuts could otherwise pass for a row (19.6 read as 19).
  const whole = text.lastIndexOf(LF) + 1;
  if (whole === 0) {
    throw new CsvHeaderError(`${damage}, before the end of the header`, { field: 'file', bytes: text });
  }
  const rows = parseWeatherCsv(text.subarray(0, whole), options);
  const tail = text.subarray(whole);
  let line = 1;
  for (let i = text.indexOf(LF); i >= 0 && i < whole; i = text.indexOf(LF, i + 1)) line++;
  rows.push({
    ok: false,
    line,
    raw: tail.toString('utf8'),
    bytes: tail,
    field: tail.length > 0 ? 'row' : 'file',
    reason:
      tail.length > 0
        ? `${damage}: this record is incomplete, nothing after it can be read`
        : `${damage}: the file may go on after this line, nothing more can be read`,
  });
  return rows;
}

const LF = 10;

/** The gunzipped bytes, or as many as can be read and why the rest cannot. */
async function gunzipLeniently(bytes: Buffer): Promise<{ text: Buffer; error: Error | null }> {
  try {
    return { text: gunzipSync(bytes), error: null };
  } catch (thrown) {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    // A sync flush at the end gives what the input holds up to a cut instead of failing on it.
    const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      gunzip.on('data', (chunk: Buffer) => chunks.push(chunk));
      gunzip.on('end', resolve);
      gunzip.on('error', () => resolve());
      gunzip.end(bytes);
    });
    const text = Buffer.concat(chunks);
    if (text.length === 0) {
      throw new CsvHeaderError(`the file is not readable gzip data (${error.message})`, {
        field: 'file',
        cause: error,
      });
    }
    return { text, error };
  }
}
