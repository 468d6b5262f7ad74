import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { STORABLE_DATES } from '../../../../../lib/platform/config.ts';
import { stationRegistry } from '../../../../../lib/domain/stations.ts';
import {
  CsvHeaderError,
  isIsoDate,
  parseWeatherCsv,
  readWeatherCsvFile,
} from '../../../../../lib/domain/weather/csv.ts';
import { observationRules } from '../../../../../lib/domain/weather/validation.ts';

const rules = observationRules({
  eventTime: { min: STORABLE_DATES.min, max: STORABLE_DATES.max, horizonDays: 2 },
  stations: stationRegistry(),
  now: Date.parse('2026-12-01T00:00:00Z'),
});
const parse = (text: string | Uint8Array) => parseWeatherCsv(text, { rules });

const HEADER =
  'Date,Location,MinTemp,MaxTemp,Rainfall,Evaporation,Sunshine,WindGustDir,WindGustSpeed,WindDir9am,WindDir3pm,WindSpeed9am,WindSpeed3pm,Humidity9am,Humidity3pm,Pressure9am,Pressure3pm,Cloud9am,Cloud3pm,Temp9am,Temp3pm,RainToday,RainTomorrow';
const GOOD =
  '2008-12-01,Albury,13.4,22.9,0.6,NA,NA,W,44,W,WNW,20,24,71,22,1007.7,1007.1,8,NA,16.9,21.8,No,Yes';

function withCell(column: string, value: string): string {
  const cells = GOOD.split(',');
  cells[HEADER.split(',').indexOf(column)] = value;
  return cells.join(',');
}

describe('parseWeatherCsv', () => {
  it('parses a row, NA as null and never 0', () => {
    const [row] = parse(`${HEADER}\n${GOOD}\n`);
    expect(row!.ok).toBe(true);
    if (!row!.ok) return;
    expect(row!.observation).toMatchObject({
      location: 'Albury',
      date: '2008-12-01',
      minTemp: 13.4,
      rainfall: 0.6,
      evaporation: null,
      cloud3pm: null,
      windGustDir: 'W',
      rainToday: false,
      source: 'weatherAUS',
    });
    expect(row!.rainTomorrow).toBe(true);
    expect(Object.keys(row!.observation)).not.toContain('rainTomorrow');
  });

  it('finds columns by header name, whatever their order', () => {
    const cols = HEADER.split(',');
    const cells = GOOD.split(',');
    const order = cols.map((_, i) => i).reverse();
    const text = `${order.map((i) => cols[i]).join(',')}\n${order.map((i) => cells[i]).join(',')}`;
    const [row] = parse(text);
    expect(row!.ok && row!.observation.maxTemp).toBe(22.9);
  });

  it.each([
    ['Date', '2008-02-30', /calendar date/],
    ['Date', '9999-12-31', /outside the event-time range/],
    ['Date', '1900-01-01', /outside the event-time range/],
    ['Date', '2099-01-01', /days after today/],
    ['Date', ' 2008-12-01', /calendar date/],
    ['Location', "Al'bury", /not a station/],
    ['Location', 'albury', /the station is "Albury"/],
    ['Location', 'Atlantis', /not a station of this deployment/],
    ['Location', ' Albury', /not a station/],
    ['Rainfall', '-1', /outside the physical range/],
    ['Humidity3pm', '101', /outside the physical range/],
    ['Humidity3pm', '0x32', /not a decimal number/],
    ['Humidity3pm', '1e2', /not a decimal number/],
    ['Humidity3pm', ' 22', /not a decimal number/],
    ['Humidity3pm', '22 ', /not a decimal number/],
    ['Pressure9am', 'abc', /not a decimal number/],
    ['Cloud9am', '4.5', /whole number of oktas/],
    ['MaxTemp', '10', /below minTemp/],
    ['RainToday', 'Yes', /disagrees with rainfall 0.6 mm/],
    ['WindDir9am', 'NORTH', /compass/],
    ['RainToday', 'Maybe', /Yes, No or NA/],
    ['RainToday', 'yes', /Yes, No or NA/],
    ['RainTomorrow', 'Perhaps', /Yes, No or NA/],
  ])('rejects a bad %s with the field and the reason', (column, value, reason) => {
    const [row] = parse(`${HEADER}\n${withCell(column, value)}`);
    expect(row!.ok).toBe(false);
    if (row!.ok) return;
    expect(row!.field).toBe(column);
    expect(row!.reason).toMatch(reason);
    expect(row!.line).toBe(2);
  });

  it('rejects a row with the wrong number of cells', () => {
    const [row] = parse(`${HEADER}\n2008-12-01,Albury`);
    expect(row).toMatchObject({ ok: false, field: 'row' });
  });

  it('reads RFC 4180: a fully quoted row, a BOM, CRLF, an empty trailing line', () => {
    const quoted = GOOD.split(',')
      .map((c) => `"${c}"`)
      .join(',');
    const rows = parse(`\uFEFF${HEADER}\r\n${quoted}\r\n${GOOD}\r\n\r\n`);
    expect(rows.map((r) => r.ok)).toEqual([true, true]);
    expect(rows[0]).toEqual({ ...rows[1], line: 2 });
  });

  it('rejects a row with a quoted line break as one row, on the line it starts', () => {
    const broken = GOOD.replace('Albury', '"Al\nbury"');
    const rows = parse(`${HEADER}\n${broken}\n${GOOD}\n`);
    expect(rows.map((r) => [r.line, r.ok])).toEqual([
      [2, false],
      [4, true],
    ]);
    expect(rows[0]).toMatchObject({ field: 'Location', reason: expect.stringMatching(/not a station/) });
  });

  it('keeps the exact bytes of a rejected row, and goes on after a huge line, 1000 columns and junk', () => {
    const junk = Buffer.from([0xc3, 0x28, 0x2c, 0x00, 0xff]);
    const input = Buffer.concat([
      Buffer.from(`${HEADER}\n${'9'.repeat(520 * 1024)}\n${Array(1000).fill('1').join(',')}\n`),
      junk,
      Buffer.from(`\n${GOOD}\n`),
    ]);
    const rows = parse(input);
    expect(rows.map((r) => (r.ok ? 'ok' : `${r.field}: ${r.reason}`))).toEqual([
      `row: record of ${520 * 1024} bytes is longer than ${64 * 1024}`,
      'row: expected 23 columns, found 1000',
      'row: record is not UTF-8 text',
      'ok',
    ]);
    const rejected = rows[2]!;
    expect(!rejected.ok && [...rejected.bytes]).toEqual([...junk]);
  });

  it('names every further column at fault after the first', () => {
    const [row] = parse(`${HEADER}\n${withCell('Cloud9am', '4.5').replace(',71,22,', ',71,150,')}`);
    expect(row).toMatchObject({
      field: 'Humidity3pm',
      reason: expect.stringMatching(/and 1 more: Cloud9am/),
    });
  });

  it('names what is wrong with a header it refuses', () => {
    // Old Mac line breaks: the whole file is one line, its header running into the rows.
    expect(() => parse(`${HEADER}\r${GOOD}\r${GOOD}\r`)).toThrow(/line breaks are CR alone/);
    // No header line: the first row is read as one.
    expect(() => parse(`${GOOD}\n${GOOD}\n`)).toThrow(/line 1 is a data row: the file has no header line/);
  });

  it('refuses a file without the required columns', () => {
    expect(() => parse('Date,Location\n2008-12-01,Albury')).toThrow(CsvHeaderError);
    expect(() => parse('')).toThrow(CsvHeaderError);
    expect(() => parse(`${HEADER},Date\n`)).toThrow(/names "Date" twice/);
  });

  it('knows calendar dates', () => {
    expect(isIsoDate('2016-02-29')).toBe(true);
    expect(isIsoDate('2017-02-29')).toBe(false);
    expect(isIsoDate('2017-1-01')).toBe(false);
  });
});

describe('readWeatherCsvFile of a damaged .csv.gz', () => {
  const dir = mkdtempSync(join(tmpdir(), 'csv-gz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  // 40 days of Albury: lines 2..41.
  const days = Array.from({ length: 40 }, (_, i) =>
    withCell('Date', `2009-01-${String(1 + (i % 28)).padStart(2, '0')}`).replace(
      'Albury',
      i < 28 ? 'Albury' : 'Cobar',
    ),
  );
  const text = `${HEADER}\n${days.join('\n')}\n`;
  const gz = gzipSync(text);

  it('reads a whole file as before', async () => {
    const rows = await readWeatherCsvFile(file('whole.csv.gz', gz), { rules });
    expect(rows.every((r) => r.ok)).toBe(true);
    expect(rows).toHaveLength(40);
  });

  it('keeps the rows before the cut of a truncated file, and rejects the cut record naming its line', async () => {
    // Cut where the text stops inside a record: the part of it read must not pass for a row.
    let cut = Math.floor(gz.length * 0.7);
    let rows = await readWeatherCsvFile(file('cut.csv.gz', gz.subarray(0, cut)), { rules });
    while (rows.at(-1)?.ok !== false || (rows.at(-1) as { bytes: Uint8Array }).bytes.length === 0) {
      cut--;
      rows = await readWeatherCsvFile(file('cut.csv.gz', gz.subarray(0, cut)), { rules });
    }
    const good = rows.filter((r) => r.ok);
    expect(good.length).toBeGreaterThan(0);
    // Every row kept is a whole line of the file, read as it was written.
    for (const row of good) {
      expect(row.ok && `${row.observation.date},${row.observation.location}`).toBe(
        days[row.line - 2]!.split(',').slice(0, 2).join(','),
      );
    }
    const last = rows.at(-1)!;
    expect(last).toMatchObject({ ok: false, field: 'row', line: good.at(-1)!.line + 1 });
    expect(!last.ok && last.reason).toMatch(/gzip/);
    expect(!last.ok && days[last.line - 2]!.startsWith(last.raw)).toBe(true);
  });

  it('leaves a trace when the cut falls between records', async () => {
    // The gzip trailer gone (8 bytes): every line is there, the end of the file is not known to be.
    const rows = await readWeatherCsvFile(file('no-trailer.csv.gz', gz.subarray(0, gz.length - 8)), {
      rules,
    });
    expect(rows.filter((r) => r.ok)).toHaveLength(40);
    expect(rows.at(-1)).toMatchObject({
      ok: false,
      field: 'file',
      line: 42,
      reason: expect.stringMatching(/gzip/),
    });
  });

  it('refuses a file with no readable gzip data', async () => {
    await expect(
      readWeatherCsvFile(file('junk.csv.gz', Buffer.from('not gzip at all')), { rules }),
    ).rejects.toThrow(/gzip/);
    await expect(readWeatherCsvFile(file('empty.csv.gz', Buffer.alloc(0)), { rules })).rejects.toThrow(
      /gzip/,
    );
  });
});
