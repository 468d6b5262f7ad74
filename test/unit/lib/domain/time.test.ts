import { describe, expect, it } from 'vitest';
import {
  DateFormatError,
  addDays,
  dateParts,
  dayNumber,
  dayOfYear,
  daysBetween,
  fromDayNumber,
  isoWeekday,
  mondayOf,
  month,
  season,
} from '../../../../lib/domain/time.ts';

describe('day numbers', () => {
  it('agree with Date.UTC for every day from 1960 to 2040', () => {
    const start = Date.UTC(1960, 0, 1) / 86_400_000;
    const end = Date.UTC(2040, 11, 31) / 86_400_000;
    for (let n = start; n <= end; n++) {
      const iso = new Date(n * 86_400_000).toISOString().slice(0, 10);
      if (dayNumber(iso) !== n || fromDayNumber(n) !== iso) {
        throw new Error(`day ${n}: ${iso} -> ${dayNumber(iso)} -> ${fromDayNumber(n)}`);
      }
    }
    expect(dayNumber('1970-01-01')).toBe(0);
  });

  it('rejects what is not a calendar day, with a code', () => {
    for (const bad of [
      '2017-02-29',
      '2016-02-30',
      '2017-13-01',
      '2017-00-10',
      '17-01-01',
      '2017/01/01',
      '2017-1-01',
      '',
    ]) {
      expect(() => dayNumber(bad), bad).toThrow(DateFormatError);
    }
    expect(() => dayNumber('2017-02-29')).toThrow(expect.objectContaining({ code: 'DATE_FORMAT' }));
    expect(dayNumber('2016-02-29')).toBe(dayNumber('2016-02-28') + 1);
  });
});

describe('date arithmetic', () => {
  it('adds days across month, year and leap-day boundaries', () => {
    expect(addDays('2016-12-31', 1)).toBe('2017-01-01');
    expect(addDays('2017-01-01', -1)).toBe('2016-12-31');
    expect(addDays('2016-02-28', 1)).toBe('2016-02-29');
    expect(addDays('2017-03-01', -1)).toBe('2017-02-28');
    expect(addDays('2017-06-25', 0)).toBe('2017-06-25');
    expect(addDays('2007-11-01', 3436)).toBe('2017-03-29'); // python: date(2007,11,1) + timedelta(3436)
  });

  it('counts days between two dates, signed', () => {
    expect(daysBetween('2016-12-31', '2017-01-07')).toBe(7);
    expect(daysBetween('2017-01-07', '2016-12-31')).toBe(-7);
    expect(daysBetween('2016-01-01', '2017-01-01')).toBe(366);
  });
});

describe('weeks', () => {
  it('finds the ISO weekday for a run of days', () => {
    for (let i = 0; i < 800; i++) {
      const date = addDays('2015-11-30', i);
      const js = new Date(`${date}T00:00:00Z`).getUTCDay(); // 0 = Sunday
      expect(isoWeekday(date)).toBe(js === 0 ? 7 : js);
    }
  });

  it('maps every day of a week to its Monday, across a year change', () => {
    // 2016-12-26 is a Monday; its week ends on Sunday 2017-01-01.
    for (let i = 0; i < 7; i++) expect(mondayOf(addDays('2016-12-26', i))).toBe('2016-12-26');
    expect(mondayOf('2017-01-02')).toBe('2017-01-02');
    expect(mondayOf('2020-12-31')).toBe('2020-12-28');
    expect(mondayOf('2021-01-03')).toBe('2020-12-28');
    expect(mondayOf('2021-01-04')).toBe('2021-01-04');
  });
});

describe('calendar parts', () => {
  it('gives month, day of year and year length from one parse', () => {
    expect(month('2017-06-25')).toBe(6);
    expect(dayOfYear('2016-12-31')).toBe(366);
    expect(dayOfYear('2017-12-31')).toBe(365);
    expect(dayOfYear('2017-01-01')).toBe(1);
    expect(dateParts('2016-03-01')).toEqual({
      year: 2016,
      month: 3,
      day: 1,
      dayNumber: dayNumber('2016-03-01'),
      dayOfYear: 61,
      daysInYear: 366,
    });
  });

  it('names southern-hemisphere seasons: December to February is summer', () => {
    expect(['2016-12-01', '2017-01-15', '2017-02-28'].map(season)).toEqual(['summer', 'summer', 'summer']);
    expect(['2017-03-01', '2017-05-31'].map(season)).toEqual(['autumn', 'autumn']);
    expect(['2017-06-01', '2017-08-31'].map(season)).toEqual(['winter', 'winter']);
    expect(['2017-09-01', '2017-11-30'].map(season)).toEqual(['spring', 'spring']);
  });
});
