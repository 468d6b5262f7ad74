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
