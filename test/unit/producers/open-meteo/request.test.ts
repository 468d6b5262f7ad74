import { describe, expect, it } from 'vitest';
import {
  buildRequestUrl,
  callWeight,
  chunkDateRange,
  DAILY_VARIABLES,
  HOURLY_VARIABLES,
  requestWeight,
} from '../../../../producers/open-meteo/request.ts';

const marrakech = { name: 'Marrakech', latitude: 31.6295, longitude: -7.9811, timezone: 'Africa/Casablanca' };

describe('callWeight', () => {
  it('is one call up to 10 variables and 14 days', () => {
    expect(callWeight(10, 14)).toBe(1);
    expect(callWeight(3, 1)).toBe(1);
  });

  it('grows with variables and with days beyond 14', () => {
    expect(callWeight(13, 1)).toBeCloseTo(1.3);
    expect(callWeight(13, 31)).toBeCloseTo(1.3 * (31 / 14));
    expect(callWeight(5, 28)).toBeCloseTo(1);
    expect(callWeight(10, 366)).toBeCloseTo(366 / 14);
    expect(callWeight(13, 31, 2)).toBeCloseTo(2 * 1.3 * (31 / 14));
  });

  it('weighs our requests by their days', () => {
    const vars = DAILY_VARIABLES.length + HOURLY_VARIABLES.length;
    expect(vars).toBe(13);
    expect(
      requestWeight({ mode: 'archive', station: marrakech, startDate: '2023-12-31', endDate: '2024-01-31' }),
    ).toBeCloseTo(1.3 * (32 / 14));
    expect(requestWeight({ mode: 'forecast', station: marrakech, pastDays: 3, forecastDays: 1 })).toBeCloseTo(
      1.3,
    );
  });
});

describe('chunkDateRange', () => {
  it('cuts a range into consecutive chunks, the last one short', () => {
    expect(chunkDateRange('2024-01-01', '2024-03-05', 31)).toEqual([
      { from: '2024-01-01', to: '2024-01-31' },
      { from: '2024-02-01', to: '2024-03-02' },
      { from: '2024-03-03', to: '2024-03-05' },
    ]);
    expect(chunkDateRange('2024-02-29', '2024-02-29', 31)).toEqual([
      { from: '2024-02-29', to: '2024-02-29' },
    ]);
  });

  it('covers a year exactly once', () => {
    const chunks = chunkDateRange('2024-01-01', '2024-12-31', 31);
    expect(chunks).toHaveLength(12);
    const days = chunks.reduce((n, c) => n + (Date.parse(c.to) - Date.parse(c.from)) / 86_400_000 + 1, 0);
    expect(days).toBe(366);
  });

  it('refuses a chunk size below one day', () => {
    expect(() => chunkDateRange('2024-01-01', '2024-01-02', 0)).toThrow(RangeError);
  });
});

describe('buildRequestUrl', () => {
  it('asks the archive for the variables, the station zone and explicit units', () => {
    const url = buildRequestUrl('http://127.0.0.1:1/v1/archive', {
      mode: 'archive',
      station: marrakech,
      startDate: '2023-12-31',
      endDate: '2024-01-31',
    });
    const p = url.searchParams;
    expect(url.pathname).toBe('/v1/archive');
    expect(p.get('latitude')).toBe('31.6295');
    expect(p.get('longitude')).toBe('-7.9811');
    expect(p.get('start_date')).toBe('2023-12-31');
    expect(p.get('end_date')).toBe('2024-01-31');
    expect(p.get('timezone')).toBe('Africa/Casablanca');
    expect(p.get('daily')).toBe(DAILY_VARIABLES.join(','));
    expect(p.get('hourly')).toBe(HOURLY_VARIABLES.join(','));
    expect(p.get('wind_speed_unit')).toBe('kmh');
    expect(p.get('past_days')).toBeNull();
  });

  it('asks the forecast API for past days', () => {
    const p = buildRequestUrl('https://api.open-meteo.com/v1/forecast', {
      mode: 'forecast',
      station: marrakech,
      pastDays: 3,
      forecastDays: 1,
    }).searchParams;
    expect(p.get('past_days')).toBe('3');
    expect(p.get('forecast_days')).toBe('1');
    expect(p.get('start_date')).toBeNull();
  });
});
