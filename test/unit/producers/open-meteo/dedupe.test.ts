import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../../lib/domain/weather/observation.ts';
import { dedupeByDate } from '../../../../producers/open-meteo/fetch-days.ts';

const day = (date: string, maxTemp: number): Observation => ({
  location: 'Marrakech',
  date,
  minTemp: 5,
  maxTemp,
  rainfall: 0,
  evaporation: null,
  sunshine: null,
  windGustDir: null,
  windGustSpeed: null,
  windDir9am: null,
  windDir3pm: null,
  windSpeed9am: null,
  windSpeed3pm: null,
  humidity9am: null,
  humidity3pm: null,
  pressure9am: null,
  pressure3pm: null,
  cloud9am: null,
  cloud3pm: null,
  temp9am: null,
  temp3pm: null,
  rainToday: false,
  source: 'open-meteo',
});

describe('dedupeByDate', () => {
  it('keeps one observation per date, sorted, counting identical repeats', () => {
    const { unique, identical, conflicts } = dedupeByDate([
      day('2024-01-02', 20),
      day('2024-01-01', 19),
      day('2024-01-02', 20),
    ]);
    expect(unique.map((o) => o.date)).toEqual(['2024-01-01', '2024-01-02']);
    expect(identical).toBe(1);
    expect(conflicts).toEqual([]);
  });

  it('keeps the first of a conflicting repeat and rejects the other, quoting both', () => {
    const { unique, conflicts } = dedupeByDate([day('2024-01-01', 19), day('2024-01-01', 25)]);
    expect(unique).toEqual([day('2024-01-01', 19)]);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ station: 'Marrakech', date: '2024-01-01', field: 'date' });
    expect(conflicts[0]!.reason).toMatch(/conflicting duplicate.*"maxTemp":19.*rejected.*"maxTemp":25/);
  });
});
