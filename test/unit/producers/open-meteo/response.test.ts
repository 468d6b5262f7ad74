import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  apiErrorReason,
  boundReason,
  parseOpenMeteoBody,
} from '../../../../producers/open-meteo/response.ts';
import { buildRequestUrl } from '../../../../producers/open-meteo/request.ts';
import { buildOpenMeteoAnswer } from '../../../support/open-meteo-server.ts';

const RECORDED = readFileSync(
  new URL('../../../fixtures/open-meteo/forecast-berlin-recorded.json', import.meta.url),
  'utf8',
);
const station = { name: 'Marrakech', latitude: 31.6295, longitude: -7.9811, timezone: 'Africa/Casablanca' };

function answer(): Record<string, unknown> {
  const url = buildRequestUrl('http://x/v1/archive', {
    mode: 'archive',
    station,
    startDate: '2024-01-01',
    endDate: '2024-01-02',
  });
  const body = buildOpenMeteoAnswer('archive', url.searchParams, {
    now: Date.UTC(2025, 0, 1),
    labels: 'fixed-offset',
    overrides: [],
    archiveDelayDays: 5,
  });
  return JSON.parse(body) as Record<string, unknown>;
}

describe('parseOpenMeteoBody', () => {
  it('reads an answer in the layout', () => {
    const parsed = parseOpenMeteoBody(JSON.stringify(answer()));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.response.timezone).toBe('Africa/Casablanca');
    expect(parsed.response.utcOffsetSeconds).toBe(3600);
    expect(parsed.response.daily.time).toEqual(['2024-01-01', '2024-01-02']);
    expect(parsed.response.hourly.time).toHaveLength(48);
    expect(parsed.response.hourly.precipitation).toHaveLength(48);
  });

  it('reads the recorded forecast answer as the layout, and names the first variable it lacks', () => {
    // The recorded answer (Berlin, daily only) has the layout but not our variables.
    const json = JSON.parse(RECORDED) as Record<string, unknown>;
    expect(parseOpenMeteoBody(RECORDED)).toMatchObject({ ok: false, field: 'hourly_units' });
    const withHourly = { ...json, hourly_units: { time: 'iso8601' }, hourly: { time: [] } };
    expect(parseOpenMeteoBody(JSON.stringify(withHourly))).toEqual({
      ok: false,
      field: 'daily.sunshine_duration',
      reason: 'missing from the answer',
      apiError: false,
    });
  });

  it("returns Open-Meteo's error body as a reason, flagged", () => {
    expect(parseOpenMeteoBody('{"error":true,"reason":"Parameter \'start_date\' is out of range"}')).toEqual({
      ok: false,
      field: 'error',
      reason: "Parameter 'start_date' is out of range",
      apiError: true,
    });
  });

  it('names what is wrong with a malformed answer', () => {
    expect(parseOpenMeteoBody('{"latitude": 31.6,')).toMatchObject({ ok: false, field: 'body' });
    expect(parseOpenMeteoBody('[]')).toMatchObject({ ok: false, field: 'body' });
    const a = answer();
    const short = structuredClone(a) as { hourly: { temperature_2m: number[] } };
    short.hourly.temperature_2m.pop();
    expect(parseOpenMeteoBody(JSON.stringify(short))).toEqual({
      ok: false,
      field: 'hourly.temperature_2m',
      reason: '47 values for 48 times',
      apiError: false,
    });
    const strings = structuredClone(a) as { daily: { temperature_2m_max: unknown[] } };
    strings.daily.temperature_2m_max[0] = '21.0';
    expect(parseOpenMeteoBody(JSON.stringify(strings))).toMatchObject({
      ok: false,
      field: 'daily.temperature_2m_max',
      reason: 'not an array of numbers and nulls',
    });
    const badTime = structuredClone(a) as { daily: { time: string[] } };
    badTime.daily.time[1] = '2024-01-02T00:00';
    expect(parseOpenMeteoBody(JSON.stringify(badTime))).toMatchObject({ ok: false, field: 'daily.time.1' });
  });

  it('refuses an answer in other units', () => {
    const a = structuredClone(answer()) as { hourly_units: Record<string, string> };
    a.hourly_units.wind_speed_10m = 'm/s';
    expect(parseOpenMeteoBody(JSON.stringify(a))).toEqual({
      ok: false,
      field: 'hourly_units.wind_speed_10m',
      reason: 'unit "m/s", expected "km/h"',
      apiError: false,
    });
  });
});

describe('reasons', () => {
  it('recognises only error bodies and bounds their reason', () => {
    expect(apiErrorReason({ error: true, reason: 'x' })).toBe('x');
    expect(apiErrorReason({ error: false, reason: 'x' })).toBeUndefined();
    expect(apiErrorReason({ error: true })).toBe('null');
    expect(boundReason('a'.repeat(5000))).toHaveLength(1000);
  });
});
