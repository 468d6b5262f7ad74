import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../../lib/domain/weather/observation.ts';
import { isRainstreamError } from '../../../../lib/platform/errors.ts';
import {
  emptyIngestionState,
  fingerprintObservation,
  fromStateRecord,
  judgeDays,
  lastIngestedDate,
  missingRanges,
  toDateRanges,
  toStateRecord,
  withIngestedDays,
} from '../../../../producers/open-meteo/ingestion-state.ts';

const day = (date: string, maxTemp = 21.5): Observation => ({
  location: 'Marrakech',
  date,
  minTemp: 8.1,
  maxTemp,
  rainfall: 0,
  evaporation: 3.2,
  sunshine: 9.4,
  windGustDir: 'WSW',
  windGustSpeed: 31,
  windDir9am: null,
  windDir3pm: 'W',
  windSpeed9am: 0,
  windSpeed3pm: 15,
  humidity9am: 70,
  humidity3pm: 35,
  pressure9am: 1018.2,
  pressure3pm: 1015.9,
  cloud9am: 1,
  cloud3pm: 3,
  temp9am: 11.3,
  temp3pm: 20.8,
  rainToday: false,
  source: 'open-meteo',
});

function ingested(dates: string[], partition = 2, firstOffset = 100) {
  return withIngestedDays(
    emptyIngestionState('Marrakech'),
    partition,
    dates.map((date, i) => ({
      date,
      fingerprint: fingerprintObservation(day(date)),
      offset: firstOffset + i,
    })),
  );
}

describe('fingerprintObservation', () => {
  it('depends on the values, not on where the day was read', () => {
    const a = day('2024-01-01');
    expect(fingerprintObservation(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintObservation({ ...a, sourcePosition: 'raw:0:7' })).toBe(fingerprintObservation(a));
    expect(fingerprintObservation({ ...a, maxTemp: 21.6 })).not.toBe(fingerprintObservation(a));
    expect(fingerprintObservation({ ...a, windDir9am: 'N' })).not.toBe(fingerprintObservation(a));
    expect(fingerprintObservation({ ...a, date: '2024-01-02' })).not.toBe(fingerprintObservation(a));
  });

  it('tells a missing reading from a zero', () => {
    const a = day('2024-01-01');
    expect(fingerprintObservation({ ...a, rainfall: null })).not.toBe(fingerprintObservation(a));
  });
});

describe('judgeDays', () => {
  it('sorts days into fresh, identical and conflicting, with the offset of the version on the topic', () => {
    const state = ingested(['2024-01-01', '2024-01-02']);
    const judged = judgeDays(state, [day('2024-01-01'), day('2024-01-02', 25), day('2024-01-03')]);
    expect(judged.fresh.map((o) => o.date)).toEqual(['2024-01-03']);
    expect(judged.identical.map((o) => o.date)).toEqual(['2024-01-01']);
    expect(judged.conflicts).toHaveLength(1);
    expect(judged.conflicts[0]!.observation.maxTemp).toBe(25);
    expect(judged.conflicts[0]!.existing.offset).toBe(101);
  });

  it("refuses another station's day", () => {
    expect(() => judgeDays(ingested([]), [{ ...day('2024-01-01'), location: 'Rabat' }])).toThrow(/Rabat/);
  });
});

describe('withIngestedDays', () => {
  it('adds days without touching the state it was given', () => {
    const before = ingested(['2024-01-01']);
    const after = withIngestedDays(before, 2, [
      { date: '2024-01-02', fingerprint: 'ab'.repeat(8), offset: 5 },
    ]);
    expect([...before.days.keys()]).toEqual(['2024-01-01']);
    expect([...after.days.keys()]).toEqual(['2024-01-01', '2024-01-02']);
  });

  it('refuses a day twice, and a station whose days change partition', () => {
    const state = ingested(['2024-01-01']);
    expect(() =>
      withIngestedDays(state, 2, [{ date: '2024-01-01', fingerprint: '00'.repeat(8), offset: 9 }]),
    ).toThrow(/already ingested/);
    expect(() =>
      withIngestedDays(state, 3, [{ date: '2024-01-02', fingerprint: '00'.repeat(8), offset: 9 }]),
    ).toThrow(/partition 2, not 3/);
  });
});

describe('ranges', () => {
  it('merges consecutive days across month and year ends', () => {
    expect(
      toDateRanges(['2023-12-30', '2023-12-31', '2024-01-01', '2024-01-03', '2024-02-29', '2024-03-01']),
    ).toEqual([
      { from: '2023-12-30', to: '2024-01-01' },
      { from: '2024-01-03', to: '2024-01-03' },
      { from: '2024-02-29', to: '2024-03-01' },
    ]);
  });

  it('finds the missing days of a range, merging holes close together when asked', () => {
    const state = ingested([
      '2024-01-02',
      '2024-01-03',
      '2024-01-05',
      '2024-01-06',
      '2024-01-07',
      '2024-01-08',
    ]);
    expect(missingRanges(state, '2024-01-01', '2024-01-10')).toEqual([
      { from: '2024-01-01', to: '2024-01-01' },
      { from: '2024-01-04', to: '2024-01-04' },
      { from: '2024-01-09', to: '2024-01-10' },
    ]);
    expect(missingRanges(state, '2024-01-01', '2024-01-10', 2)).toEqual([
      { from: '2024-01-01', to: '2024-01-04' },
      { from: '2024-01-09', to: '2024-01-10' },
    ]);
    expect(missingRanges(state, '2024-01-02', '2024-01-03')).toEqual([]);
    expect(missingRanges(emptyIngestionState('Marrakech'), '2024-01-01', '2024-12-31')).toEqual([
      { from: '2024-01-01', to: '2024-12-31' },
    ]);
  });

  it('knows the last day ingested', () => {
    expect(lastIngestedDate(emptyIngestionState('Marrakech'))).toBeNull();
    expect(lastIngestedDate(ingested(['2024-03-01', '2024-01-01', '2024-02-01']))).toBe('2024-03-01');
  });
});

describe('state record', () => {
  it('round-trips: compact ranges, with fingerprints and offsets in date order', () => {
    const dates = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-06-01', '2024-12-31'];
    // Added out of order: the record is in date order whatever the order of ingestion.
    const state = ingested([...dates].reverse(), 4, 1000);
    const record = toStateRecord(state, 1_700_000_000_000);
    expect(record.ranges).toEqual([
      { from: '2024-01-01', to: '2024-01-03' },
      { from: '2024-06-01', to: '2024-06-01' },
      { from: '2024-12-31', to: '2024-12-31' },
    ]);
    expect(record.fingerprints).toHaveLength(5 * 8);
    expect(record.offsets).toEqual([1004, 1003, 1002, 1001, 1000]);
    expect(record.observationsPartition).toBe(4);
    const back = fromStateRecord(record);
    expect(back).toEqual(state);
  });

  it('refuses a record whose parts disagree instead of guessing', () => {
    const record = toStateRecord(ingested(['2024-01-01', '2024-01-02']), 0);
    const bad = [
      { ...record, offsets: [1] },
      { ...record, fingerprints: Buffer.alloc(8) },
      { ...record, ranges: [{ from: '2024-01-02', to: '2024-01-01' }] },
      {
        ...record,
        ranges: [
          { from: '2024-01-01', to: '2024-01-01' },
          { from: '2024-01-02', to: '2024-01-02' },
        ],
      },
    ];
    for (const r of bad) {
      let error: unknown;
      try {
        fromStateRecord(r);
      } catch (e) {
        error = e;
      }
      expect(isRainstreamError(error) && error.code).toBe('DECODE');
    }
  });
});
