import { describe, expect, it } from 'vitest';
import { CsvHeaderError, isIsoDate, parseWeatherCsv } from '../../../../../lib/domain/weather/csv.ts';

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
    const [row] = parseWeatherCsv(`${HEADER}\n${GOOD}\n`);
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
    const [row] = parseWeatherCsv(text);
    expect(row!.ok && row!.observation.maxTemp).toBe(22.9);
  });

  it.each([
    ['Date', '2008-02-30', /calendar date/],
    ['Location', "Al'bury", /station name/],
    ['Rainfall', '-1', /outside the physical range/],
    ['Humidity3pm', '101', /outside the physical range/],
    ['Pressure9am', 'abc', /not a number/],
    ['WindDir9am', 'NORTH', /compass/],
    ['RainToday', 'Maybe', /Yes, No or NA/],
  ])('rejects a bad %s with the field and the reason', (column, value, reason) => {
    const [row] = parseWeatherCsv(`${HEADER}\n${withCell(column, value)}`);
    expect(row!.ok).toBe(false);
    if (row!.ok) return;
    expect(row!.field).toBe(column);
    expect(row!.reason).toMatch(reason);
    expect(row!.line).toBe(2);
  });

  it('rejects a row with the wrong number of cells', () => {
    const [row] = parseWeatherCsv(`${HEADER}\n2008-12-01,Albury`);
    expect(row).toMatchObject({ ok: false, field: 'row' });
  });

  it('refuses a file without the required columns', () => {
    expect(() => parseWeatherCsv('Date,Location\n2008-12-01,Albury')).toThrow(CsvHeaderError);
  });

  it('knows calendar dates', () => {
    expect(isIsoDate('2016-02-29')).toBe(true);
    expect(isIsoDate('2017-02-29')).toBe(false);
    expect(isIsoDate('2017-1-01')).toBe(false);
  });
});
