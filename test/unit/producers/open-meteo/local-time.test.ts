import { describe, expect, it } from 'vitest';
import {
  formatWallClock,
  instantOfLocal,
  isTimeZone,
  localDateAt,
  localDateTimeAt,
  offsetMsAt,
  parseWallClock,
  sameTimeZone,
} from '../../../../producers/open-meteo/local-time.ts';

const HOUR = 3_600_000;

describe('instantOfLocal', () => {
  it('finds 09:00 on ordinary days in both hemispheres', () => {
    expect(instantOfLocal('2024-01-15', 9, 0, 'Australia/Sydney')).toBe(Date.UTC(2024, 0, 14, 22)); // AEDT +11
    expect(instantOfLocal('2024-07-15', 9, 0, 'Australia/Sydney')).toBe(Date.UTC(2024, 6, 14, 23)); // AEST +10
    expect(instantOfLocal('2024-07-15', 9, 0, 'Africa/Casablanca')).toBe(Date.UTC(2024, 6, 15, 8)); // +1
  });

  it('finds 09:00 and 15:00 on the 25-hour day daylight saving ends (Sydney, 7 April 2024)', () => {
    expect(instantOfLocal('2024-04-07', 9, 0, 'Australia/Sydney')).toBe(Date.UTC(2024, 3, 6, 23));
    expect(instantOfLocal('2024-04-07', 15, 0, 'Australia/Sydney')).toBe(Date.UTC(2024, 3, 7, 5));
    // Local midnight to midnight is 25 hours that day.
    const length =
      instantOfLocal('2024-04-08', 0, 0, 'Australia/Sydney') -
      instantOfLocal('2024-04-07', 0, 0, 'Australia/Sydney');
    expect(length).toBe(25 * HOUR);
  });

  it('finds 09:00 on the 23-hour day daylight saving starts (Sydney 6 Oct, Berlin 31 Mar 2024)', () => {
    expect(instantOfLocal('2024-10-06', 9, 0, 'Australia/Sydney')).toBe(Date.UTC(2024, 9, 5, 22));
    expect(instantOfLocal('2024-03-31', 9, 0, 'Europe/Berlin')).toBe(Date.UTC(2024, 2, 31, 7));
    const length =
      instantOfLocal('2024-03-31', 23, 0, 'Europe/Berlin') -
      instantOfLocal('2024-03-31', 0, 0, 'Europe/Berlin');
    expect(length).toBe(22 * HOUR);
  });

  it("follows Morocco's Ramadan change to UTC+0 (Marrakech, 10 March to 14 April 2024)", () => {
    expect(instantOfLocal('2024-03-09', 9, 0, 'Africa/Casablanca')).toBe(Date.UTC(2024, 2, 9, 8));
    expect(instantOfLocal('2024-03-11', 9, 0, 'Africa/Casablanca')).toBe(Date.UTC(2024, 2, 11, 9));
    expect(instantOfLocal('2024-04-15', 9, 0, 'Africa/Casablanca')).toBe(Date.UTC(2024, 3, 15, 8));
  });

  it('takes the earlier of a repeated time and skips forward over a missing one', () => {
    // 02:30 happens twice in Sydney on 7 April 2024 (AEDT, then AEST).
    expect(instantOfLocal('2024-04-07', 2, 30, 'Australia/Sydney')).toBe(Date.UTC(2024, 3, 6, 15, 30));
    // 02:30 does not happen on 6 October 2024: the clock reads 03:30 at that instant.
    const t = instantOfLocal('2024-10-06', 2, 30, 'Australia/Sydney');
    expect(localDateTimeAt(t, 'Australia/Sydney')).toEqual({
      date: '2024-10-06',
      hour: 3,
      minute: 30,
      second: 0,
    });
  });

  it('round-trips every hour of a year in a zone with daylight saving', () => {
    for (let t = Date.UTC(2024, 0, 1); t < Date.UTC(2025, 0, 1); t += HOUR) {
      const local = localDateTimeAt(t, 'Europe/Berlin');
      const back = instantOfLocal(local.date, local.hour, local.minute, 'Europe/Berlin');
      // A repeated hour maps back to its first occurrence, an hour earlier.
      expect([t, t - HOUR]).toContain(back);
    }
  });
});

describe('zone facts', () => {
  it('gives offsets and local dates', () => {
    expect(offsetMsAt(Date.UTC(2024, 0, 1), 'Australia/Sydney')).toBe(11 * HOUR);
    expect(offsetMsAt(Date.UTC(2024, 6, 1), 'Australia/Sydney')).toBe(10 * HOUR);
    expect(offsetMsAt(Date.UTC(2024, 6, 1), 'UTC')).toBe(0);
    expect(localDateAt(Date.UTC(2024, 0, 1, 13, 30), 'Australia/Sydney')).toBe('2024-01-02');
    expect(localDateAt(Date.UTC(2024, 0, 1, 23, 30), 'Africa/Casablanca')).toBe('2024-01-02');
  });

  it('knows IANA names and refuses the rest', () => {
    expect(isTimeZone('Africa/Casablanca')).toBe(true);
    expect(isTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('+01:00')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('tells two names of one zone', () => {
    expect(sameTimeZone('UTC', 'GMT')).toBe(true);
    expect(sameTimeZone('Asia/Kolkata', 'Asia/Calcutta')).toBe(true);
    expect(sameTimeZone('Africa/Casablanca', 'Africa/Casablanca')).toBe(true);
    expect(sameTimeZone('Africa/Casablanca', 'Europe/Lisbon')).toBe(false);
    expect(sameTimeZone('Nowhere/Else', 'UTC')).toBe(false);
  });

  it('formats and parses wall-clock labels', () => {
    expect(formatWallClock(Date.UTC(2024, 1, 29, 9, 5))).toBe('2024-02-29T09:05');
    expect(parseWallClock('2024-02-29T09:05')).toBe(Date.UTC(2024, 1, 29, 9, 5));
    expect(parseWallClock('2023-02-29T09:00')).toBeNaN();
    expect(parseWallClock('2024-01-01T24:00')).toBeNaN();
    expect(parseWallClock('2024-01-01 09:00')).toBeNaN();
  });
});
