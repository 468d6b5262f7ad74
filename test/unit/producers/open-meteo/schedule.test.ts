import { describe, expect, it } from 'vitest';
import {
  latestDueDay,
  missedDays,
  nextRunAt,
  owedDays,
  parseDailyAt,
  planFetches,
} from '../../../../producers/open-meteo/schedule.ts';

const CASA = 'Africa/Casablanca';
const SYDNEY = 'Australia/Sydney';

describe('latestDueDay', () => {
  it('is yesterday from the daily time on, the day before until then (station clock)', () => {
    // 05:59 and 06:00 in Marrakech (UTC+1) on 10 January 2024.
    expect(latestDueDay(Date.UTC(2024, 0, 10, 4, 59), CASA, '06:00')).toBe('2024-01-08');
    expect(latestDueDay(Date.UTC(2024, 0, 10, 5, 0), CASA, '06:00')).toBe('2024-01-09');
    // Sydney is already on the 11th when UTC is at 20:00 on the 10th.
    expect(latestDueDay(Date.UTC(2024, 0, 10, 20), SYDNEY, '06:00')).toBe('2024-01-10');
  });
});

describe('missedDays', () => {
  const at0700 = Date.UTC(2024, 0, 10, 6); // 07:00 in Marrakech

  it('owes nothing when yesterday is in', () => {
    expect(missedDays('2024-01-09', at0700, CASA)).toEqual([]);
    expect(missedDays('2024-01-12', at0700, CASA)).toEqual([]);
  });

  it('owes yesterday after a normal day, and every day missed after downtime', () => {
    expect(missedDays('2024-01-08', at0700, CASA)).toEqual(['2024-01-09']);
    expect(missedDays('2024-01-05', at0700, CASA)).toEqual([
      '2024-01-06',
      '2024-01-07',
      '2024-01-08',
      '2024-01-09',
    ]);
    expect(missedDays('2023-12-30', at0700, CASA, '06:00')).toHaveLength(10);
  });

  it('owes only the latest due day when nothing was ingested yet', () => {
    expect(missedDays(null, at0700, CASA)).toEqual(['2024-01-09']);
    expect(missedDays(null, at0700, CASA, '08:00')).toEqual(['2024-01-08']);
  });
});

describe('owedDays', () => {
  const at0700 = Date.UTC(2024, 0, 10, 6); // 07:00 in Marrakech: 9 January is due
  const days = (...dates: string[]) => new Set(dates);

  it('owes the missed days, and the days of the last week between ingested ones (rejected before)', () => {
    expect(owedDays(days(), at0700, CASA)).toEqual(['2024-01-09']);
    expect(owedDays(days('2024-01-05', '2024-01-06', '2024-01-07'), at0700, CASA)).toEqual([
      '2024-01-08',
      '2024-01-09',
    ]);
    expect(owedDays(days('2024-01-05', '2024-01-07', '2024-01-09'), at0700, CASA)).toEqual([
      '2024-01-06',
      '2024-01-08',
    ]);
  });

  it('leaves to a backfill the days before the first ingested one and those over a week old', () => {
    expect(owedDays(days('2024-01-08'), at0700, CASA)).toEqual(['2024-01-09']);
    expect(owedDays(days('2023-12-20', '2024-01-01', '2024-01-09'), at0700, CASA)).toEqual([
      '2024-01-03',
      '2024-01-04',
      '2024-01-05',
      '2024-01-06',
      '2024-01-07',
      '2024-01-08',
    ]);
    expect(owedDays(days('2024-01-09'), at0700, CASA)).toEqual([]);
  });
});

describe('nextRunAt', () => {
  it('is today at the daily time if still ahead, else tomorrow', () => {
    expect(nextRunAt(Date.UTC(2024, 0, 10, 4), CASA, '06:00')).toBe(Date.UTC(2024, 0, 10, 5));
    expect(nextRunAt(Date.UTC(2024, 0, 10, 5), CASA, '06:00')).toBe(Date.UTC(2024, 0, 11, 5));
  });

  it('follows the clock across daylight saving (Sydney, 6 October 2024)', () => {
    // 06:00 AEST on 5 October is 20:00Z on the 4th; 06:00 AEDT on the 6th is 19:00Z on the 5th.
    expect(nextRunAt(Date.UTC(2024, 9, 4, 20), SYDNEY, '06:00')).toBe(Date.UTC(2024, 9, 5, 19));
  });

  it('refuses a malformed daily time', () => {
    expect(() => parseDailyAt('6:00')).toThrow(RangeError);
    expect(() => parseDailyAt('24:00')).toThrow(RangeError);
    expect(parseDailyAt('23:59')).toEqual({ hour: 23, minute: 59 });
  });
});

describe('planFetches', () => {
  const today = '2024-06-30';

  it('uses the forecast API for recent days', () => {
    expect(planFetches('2024-06-01', '2024-06-29', today)).toEqual([
      { mode: 'forecast', from: '2024-06-01', to: '2024-06-29' },
    ]);
  });

  it('uses the archive for old days and splits a range that spans both', () => {
    expect(planFetches('2024-01-01', '2024-01-31', today)).toEqual([
      { mode: 'archive', from: '2024-01-01', to: '2024-01-31' },
    ]);
    expect(planFetches('2024-01-01', '2024-06-29', today)).toEqual([
      { mode: 'archive', from: '2024-01-01', to: '2024-03-31' },
      { mode: 'forecast', from: '2024-04-01', to: '2024-06-29' },
    ]);
  });
});
