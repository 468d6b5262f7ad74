import { describe, expect, it } from 'vitest';
import { nextDayValues } from '../../../../../lib/domain/weather/next-day.ts';
import { observation } from '../../../../support/observations.ts';

describe('nextDayValues', () => {
  it("gives each day the same station's reading of the next calendar day, whatever the row order", () => {
    const rows = [
      observation({ location: 'Albury', date: '2010-01-02', maxTemp: 31 }),
      observation({ location: 'Sydney', date: '2010-01-01', maxTemp: 24 }),
      observation({ location: 'Albury', date: '2010-01-01', maxTemp: 30 }),
      observation({ location: 'Sydney', date: '2010-01-02', maxTemp: 26 }),
    ];
    expect(nextDayValues(rows, 'maxTemp')).toEqual([null, 26, 31, null]);
  });

  it('leaves a day without a next day, or with its reading missing, unlabelled (never another day)', () => {
    const rows = [
      observation({ date: '2010-01-01', maxTemp: 30 }),
      // A gap: 2010-01-02 is absent, so 01-01 has no label rather than 01-05's reading.
      observation({ date: '2010-01-05', maxTemp: 25 }),
      observation({ date: '2010-01-06', maxTemp: null }),
    ];
    expect(nextDayValues(rows, 'maxTemp')).toEqual([null, null, null]);
  });

  it('crosses month and year ends and leap days by the calendar', () => {
    const rows = [
      observation({ date: '2011-12-31', maxTemp: 1 }),
      observation({ date: '2012-01-01', maxTemp: 2 }),
      observation({ date: '2012-02-28', maxTemp: 3 }),
      observation({ date: '2012-02-29', maxTemp: 4 }),
      observation({ date: '2012-03-01', maxTemp: 5 }),
    ];
    expect(nextDayValues(rows, 'maxTemp')).toEqual([2, null, 4, 5, null]);
  });

  it('takes the first occurrence of a duplicated day, and reads any numeric field', () => {
    const rows = [
      observation({ date: '2010-01-01', minTemp: 10 }),
      observation({ date: '2010-01-02', minTemp: 11 }),
      observation({ date: '2010-01-02', minTemp: 99 }),
    ];
    expect(nextDayValues(rows, 'minTemp')).toEqual([11, null, null]);
  });
});
