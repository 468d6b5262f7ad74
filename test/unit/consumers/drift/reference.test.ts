import { describe, expect, it } from 'vitest';
import {
  importanceShares,
  INSTRUMENTS,
  watchedColumns,
  weekNumber,
} from '../../../../consumers/drift/reference.ts';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import { addDays } from '../../../../lib/domain/time.ts';

describe('what the drift stage watches', () => {
  const shares = (entries: Record<string, number>) => FEATURE_NAMES.map((n) => entries[n] ?? 0);

  it('ranks raw fields per station by the importance of everything computed from them', () => {
    const columns = watchedColumns(
      FEATURE_NAMES,
      shares({
        humidity3pm: 0.3,
        humidity3pmChange24h: 0.2,
        prevHumidity3pm: 0.1,
        pressure3pm: 0.25,
        month: 0.15,
      }),
    );
    const humidity = columns.find((c) => c.name === 'humidity3pm')!;
    expect(humidity).toMatchObject({ rank: 1, perGroup: true, pooled: true });
    expect(humidity.importance).toBeCloseTo(0.6, 12);
    // A derived feature is watched pooled by its own importance; the calendar never.
    expect(columns.find((c) => c.name === 'humidity3pmChange24h')).toMatchObject({
      perGroup: false,
      pooled: true,
    });
    expect(columns.find((c) => c.name === 'month')).toBeUndefined();
  });

  it('watches the other readings of an instrument the model relies on, judged with it only', () => {
    const columns = watchedColumns(FEATURE_NAMES, shares({ temp3pm: 0.5, humidity3pm: 0.5 }));
    for (const reading of INSTRUMENTS.temperature!) {
      const c = columns.find((x) => x.name === reading)!;
      expect(c.perGroup).toBe(true);
      expect(c.memberOnly ?? false).toBe(reading !== 'temp3pm');
    }
    expect(columns.find((c) => c.name === 'windGustSpeed')).toBeUndefined();
  });

  it('leaves out what the model does not use (negative permutation importance is noise)', () => {
    const s = importanceShares(
      FEATURE_NAMES.map((n) => (n === 'sunshine' ? 0.02 : n === 'rainfall' ? -0.01 : 0)),
    );
    expect(s[FEATURE_NAMES.indexOf('sunshine')]).toBe(1);
    expect(s[FEATURE_NAMES.indexOf('rainfall')]).toBe(0);
    expect(watchedColumns(FEATURE_NAMES, s).map((c) => c.name)).toEqual(['sunshine']);
  });

  it('numbers event-time weeks from Monday, consecutively', () => {
    expect(weekNumber('2016-02-22')).toBe(weekNumber('2016-02-28'));
    expect(weekNumber('2016-02-29')).toBe(weekNumber('2016-02-22') + 1);
    expect(weekNumber(addDays('2016-02-22', -1))).toBe(weekNumber('2016-02-22') - 1);
  });
});
