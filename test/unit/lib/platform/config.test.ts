import { describe, expect, it } from 'vitest';
import { DEFAULT_LIVE_STATIONS_FILE, loadConfig } from '../../../../lib/platform/config.ts';

describe('config: the Open-Meteo slice', () => {
  it('defaults to the public endpoints, the repository stations file and 06:00', () => {
    expect(loadConfig({}).openMeteo).toEqual({
      archiveUrl: 'https://archive-api.open-meteo.com/v1/archive',
      forecastUrl: 'https://api.open-meteo.com/v1/forecast',
      stationsFile: DEFAULT_LIVE_STATIONS_FILE,
      dailyAt: '06:00',
      timeoutMs: 30_000,
    });
  });

  it('takes every value from the environment', () => {
    const c = loadConfig({
      OPEN_METEO_ARCHIVE_URL: 'http://127.0.0.1:4000/v1/archive',
      OPEN_METEO_FORECAST_URL: 'http://127.0.0.1:4000/v1/forecast',
      OPEN_METEO_STATIONS_FILE: '/etc/rainstream/stations.json',
      OPEN_METEO_DAILY_AT: '05:30',
      OPEN_METEO_TIMEOUT_MS: '5000',
    }).openMeteo;
    expect(c).toEqual({
      archiveUrl: 'http://127.0.0.1:4000/v1/archive',
      forecastUrl: 'http://127.0.0.1:4000/v1/forecast',
      stationsFile: '/etc/rainstream/stations.json',
      dailyAt: '05:30',
      timeoutMs: 5000,
    });
  });

  it('names each invalid variable', () => {
    expect(() => loadConfig({ OPEN_METEO_ARCHIVE_URL: 'archive' })).toThrow(/OPEN_METEO_ARCHIVE_URL/);
    expect(() => loadConfig({ OPEN_METEO_DAILY_AT: '6:00' })).toThrow(/OPEN_METEO_DAILY_AT: HH:MM/);
    expect(() => loadConfig({ OPEN_METEO_TIMEOUT_MS: '0' })).toThrow(/OPEN_METEO_TIMEOUT_MS/);
  });
});

describe('config: the event-time slice', () => {
  it('defaults to the dates ClickHouse can store and a horizon of 2 days', () => {
    expect(loadConfig({}).eventTime).toEqual({ min: '1970-01-05', max: '2105-12-31', horizonDays: 2 });
  });

  it('takes a narrower range and another horizon', () => {
    const c = loadConfig({
      EVENT_TIME_MIN: '2000-01-01',
      EVENT_TIME_MAX: '2099-12-31',
      EVENT_TIME_HORIZON_DAYS: '1',
    }).eventTime;
    expect(c).toEqual({ min: '2000-01-01', max: '2099-12-31', horizonDays: 1 });
  });

  it('refuses dates ClickHouse cannot store, non-dates and an inverted range', () => {
    expect(() => loadConfig({ EVENT_TIME_MIN: '1900-01-01' })).toThrow(/EVENT_TIME_MIN: a date ClickHouse/);
    expect(() => loadConfig({ EVENT_TIME_MAX: '2106-01-01' })).toThrow(/EVENT_TIME_MAX/);
    expect(() => loadConfig({ EVENT_TIME_MAX: '2010-02-30' })).toThrow(/EVENT_TIME_MAX/);
    expect(() => loadConfig({ EVENT_TIME_MIN: '2010-01-01', EVENT_TIME_MAX: '2009-01-01' })).toThrow(
      /EVENT_TIME_MIN 2010-01-01 is after EVENT_TIME_MAX 2009-01-01/,
    );
    expect(() => loadConfig({ EVENT_TIME_HORIZON_DAYS: '0' })).toThrow(/EVENT_TIME_HORIZON_DAYS/);
  });
});
