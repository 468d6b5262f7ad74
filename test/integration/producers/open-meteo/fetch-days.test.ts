import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isRainstreamError } from '../../../../lib/platform/errors.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { fetchDays, remapRawAnswer, type StationDays } from '../../../../producers/open-meteo/fetch-days.ts';
import { callWeight } from '../../../../producers/open-meteo/request.ts';
import type { LiveStation } from '../../../../producers/open-meteo/stations.ts';
import {
  gridCell,
  syntheticHourly,
  type SyntheticHourlyVariable,
} from '../../../support/open-meteo-server.ts';
import { marrakech, startHarness, sydney, type Harness } from './harness.ts';

const RECORDED = readFileSync(
  new URL('../../../fixtures/open-meteo/forecast-berlin-recorded.json', import.meta.url),
  'utf8',
);

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

function truth(station: LiveStation, variable: SyntheticHourlyVariable, instant: number): number {
  const cell = gridCell(station.latitude, station.longitude);
  return syntheticHourly(variable, cell.latitude, cell.longitude, instant);
}

function day(result: StationDays, date: string) {
  const found = result.observations.filter((o) => o.date === date);
  expect(found, date).toHaveLength(1);
  return found[0]!;
}

describe('fetchDays, archive (backfill)', () => {
  it('backfills a station-year in monthly chunks: every day once, raw answers as sent', async () => {
    // Fetched during Ramadan 2025, when Morocco is at UTC+0: Open-Meteo labels the whole year at UTC+0,
    // an hour off the station's clock on every day but those of Ramadan 2024.
    h = await startHarness({ now: Date.UTC(2025, 2, 1, 12) });
    const [result] = await fetchDays(
      { stations: [marrakech], from: '2024-01-01', to: '2024-12-31', mode: 'archive' },
      h.deps,
    );
    expect(result!.failures).toEqual([]);
    expect(result!.rejections).toEqual([]);
    expect(result!.observations).toHaveLength(366);
    expect(new Set(result!.observations.map((o) => o.date)).size).toBe(366);
    expect(result!.observations[0]!.date).toBe('2024-01-01');
    expect(result!.observations.at(-1)!.date).toBe('2024-12-31');

    // Twelve calls, each from the day before its chunk (the first 9am rainfall day needs it).
    expect(h.server.requests).toHaveLength(12);
    expect(h.server.requests.map((r) => r.params.get('start_date'))).toEqual([
      '2023-12-31',
      '2024-01-31',
      '2024-03-02',
      '2024-04-02',
      '2024-05-03',
      '2024-06-03',
      '2024-07-04',
      '2024-08-04',
      '2024-09-04',
      '2024-10-05',
      '2024-11-05',
      '2024-12-06',
    ]);
    expect(result!.raw.map((r) => r.body)).toEqual(h.server.answers.map((a) => a.body));
    expect(result!.raw[0]!.body).toContain('"utc_offset_seconds":0,');
    expect(result!.raw[0]).toMatchObject({
      mode: 'archive',
      from: '2024-01-01',
      to: '2024-01-31',
      status: 200,
    });
    expect(h.deps.counters).toMatchObject({
      requests: 12,
      responsesOk: 12,
      daysMapped: 366,
      daysRejected: 0,
    });
    // Eleven chunks of 31 days and one of 25, each with the extra day before.
    expect(h.deps.counters.weight).toBeCloseTo(11 * callWeight(13, 32) + callWeight(13, 26));

    // Summer (UTC+1) and Ramadan (UTC+0) days read at the station's 09:00.
    expect(day(result!, '2024-07-01').temp9am).toBe(
      truth(marrakech, 'temperature_2m', Date.UTC(2024, 6, 1, 8)),
    );
    expect(day(result!, '2024-03-20').temp9am).toBe(
      truth(marrakech, 'temperature_2m', Date.UTC(2024, 2, 20, 9)),
    );
  });

  it('maps the same observations again from the raw answers alone', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1, 12), chunkDays: 10 });
    const [result] = await fetchDays(
      { stations: [marrakech], from: '2024-02-20', to: '2024-03-15', mode: 'archive' },
      h.deps,
    );
    const again = result!.raw.flatMap((raw) => remapRawAnswer(raw).observations);
    expect(again).toEqual(result!.observations);
  });

  it('reads a southern station across both daylight-saving changes by its clock', async () => {
    for (const labels of ['fixed-offset', 'wall-clock'] as const) {
      h = await startHarness({ now: Date.UTC(2025, 0, 15), labels });
      const [result] = await fetchDays(
        { stations: [sydney], from: '2024-04-01', to: '2024-10-31', mode: 'archive' },
        h.deps,
      );
      expect(result!.rejections, labels).toEqual([]);
      expect(result!.observations, labels).toHaveLength(214);
      expect(day(result!, '2024-04-07').temp9am).toBe(
        truth(sydney, 'temperature_2m', Date.UTC(2024, 3, 6, 23)),
      );
      expect(day(result!, '2024-04-07').temp3pm).toBe(
        truth(sydney, 'temperature_2m', Date.UTC(2024, 3, 7, 5)),
      );
      expect(day(result!, '2024-10-06').temp9am).toBe(
        truth(sydney, 'temperature_2m', Date.UTC(2024, 9, 5, 22)),
      );
      expect(day(result!, '2024-07-15').humidity3pm).toBe(
        truth(sydney, 'relative_humidity_2m', Date.UTC(2024, 6, 15, 5)),
      );
      await h.server.close();
      h = undefined;
    }
  });

  it('keeps nulls, and rejects a day with an impossible value naming field and reason', async () => {
    h = await startHarness({ now: Date.UTC(2025, 0, 15) }); // Marrakech at UTC+1: labels are local time
    h.server.setOverrides([
      { section: 'hourly', variable: 'temperature_2m', time: '2024-01-05T09:00', value: null },
      { section: 'daily', variable: 'sunshine_duration', time: '2024-01-05', value: null },
      { section: 'hourly', variable: 'relative_humidity_2m', time: '2024-01-06T15:00', value: 140 },
    ]);
    const [result] = await fetchDays(
      { stations: [marrakech], from: '2024-01-04', to: '2024-01-07', mode: 'archive' },
      h.deps,
    );
    expect(result!.observations.map((o) => o.date)).toEqual(['2024-01-04', '2024-01-05', '2024-01-07']);
    expect(day(result!, '2024-01-05')).toMatchObject({ temp9am: null, sunshine: null });
    expect(result!.rejections).toEqual([
      {
        station: 'Marrakech',
        date: '2024-01-06',
        field: 'humidity3pm',
        reason:
          'relative_humidity_2m at 2024-01-06T15:00 = 140: 140 % is outside the physical range 0 to 100 %',
      },
    ]);
    expect(h.deps.counters).toMatchObject({ daysMapped: 3, daysRejected: 1 });
  });

  it('reports a refused chunk as a failure with the reason and goes on with the next', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1), chunkDays: 5 });
    h.server.inject({
      kind: 'error-body',
      reason: 'Cannot initialize DailyVariable from invalid String value x.',
    });
    const [result] = await fetchDays(
      { stations: [marrakech], from: '2024-01-01', to: '2024-01-10', mode: 'archive' },
      h.deps,
    );
    expect(result!.failures).toEqual([
      {
        station: 'Marrakech',
        from: '2024-01-01',
        to: '2024-01-05',
        code: 'UPSTREAM_REJECTED',
        retriable: false,
        reason:
          'Open-Meteo refused the request (HTTP 400): Cannot initialize DailyVariable from invalid String value x.',
        url: expect.stringMatching(/\/v1\/archive\?.*start_date=2023-12-31&end_date=2024-01-05/),
      },
    ]);
    expect(result!.observations.map((o) => o.date)).toEqual([
      '2024-01-06',
      '2024-01-07',
      '2024-01-08',
      '2024-01-09',
      '2024-01-10',
    ]);
    expect(result!.raw).toHaveLength(1);
  });

  it('stops calling after a 429 asking for more patience than it has, reporting what was not fetched', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1), chunkDays: 5, maxRetryAfterMs: 60_000 });
    h.server.inject({ kind: 'rate-limit', retryAfter: '3600' });
    const results = await fetchDays(
      { stations: [marrakech, sydney], from: '2024-01-01', to: '2024-01-10', mode: 'archive' },
      h.deps,
    );
    expect(h.server.requests).toHaveLength(1);
    const failures = results.flatMap((r) => r.failures);
    expect(failures.map((f) => [f.station, f.from, f.code, f.retriable])).toEqual([
      ['Marrakech', '2024-01-01', 'RATE_LIMITED', true],
      ['Marrakech', '2024-01-06', 'RATE_LIMITED', true],
      ['SydneyLive', '2024-01-01', 'RATE_LIMITED', true],
      ['SydneyLive', '2024-01-06', 'RATE_LIMITED', true],
    ]);
    expect(failures[1]!.reason).toMatch(/^not attempted: Open-Meteo rate limit \(HTTP 429\)/);
  });

  it('stops calling after a 503 asking for more patience than it has, reporting what was not fetched', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1), chunkDays: 5, maxRetryAfterMs: 60_000 });
    h.server.inject({ kind: 'raw', status: 503, body: 'maintenance', retryAfter: '3600' });
    const results = await fetchDays(
      { stations: [marrakech, sydney], from: '2024-01-01', to: '2024-01-10', mode: 'archive' },
      h.deps,
    );
    expect(h.server.requests).toHaveLength(1);
    const failures = results.flatMap((r) => r.failures);
    expect(failures.map((f) => [f.station, f.from, f.code, f.retriable, f.retryAfterMs])).toEqual([
      ['Marrakech', '2024-01-01', 'UPSTREAM_UNAVAILABLE', true, 3_600_000],
      ['Marrakech', '2024-01-06', 'UPSTREAM_UNAVAILABLE', true, 3_600_000],
      ['SydneyLive', '2024-01-01', 'UPSTREAM_UNAVAILABLE', true, 3_600_000],
      ['SydneyLive', '2024-01-06', 'UPSTREAM_UNAVAILABLE', true, 3_600_000],
    ]);
    expect(failures[1]!.reason).toBe('not attempted: Open-Meteo HTTP 503: maintenance');
    expect(h.clock.slept).toEqual([]);
  });

  it('rides out a timeout, a 500 and a 429 within one backfill', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1), chunkDays: 7, timeoutMs: 300 });
    h.server.inject(
      { kind: 'hang' },
      { kind: 'raw', status: 500, body: 'Internal Server Error' },
      { kind: 'rate-limit', retryAfter: '2' },
    );
    const [result] = await fetchDays(
      { stations: [marrakech], from: '2024-02-01', to: '2024-02-14', mode: 'archive' },
      h.deps,
    );
    expect(result!.failures).toEqual([]);
    expect(result!.observations).toHaveLength(14);
    expect(h.deps.counters).toMatchObject({
      timeouts: 1,
      httpErrors: 1,
      rateLimited: 1,
      retries: 3,
      requests: 5,
    });
  });

  it('keeps a malformed and a recorded answer as raw, rejecting their days with the reason', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1), chunkDays: 2 });
    const truncated = '{"latitude":31.6,"longitude":-8.0,"generationtime_ms":0.5,"utc_offs';
    h.server.inject(
      { kind: 'raw', status: 200, body: truncated },
      { kind: 'raw', status: 200, body: RECORDED },
    );
    const [result] = await fetchDays(
      { stations: [marrakech], from: '2024-01-01', to: '2024-01-04', mode: 'archive' },
      h.deps,
    );
    expect(result!.raw.map((r) => r.body)).toEqual([truncated, RECORDED]);
    expect(result!.observations).toEqual([]);
    expect(result!.rejections.map((r) => [r.date, r.field])).toEqual([
      ['2024-01-01', 'body'],
      ['2024-01-02', 'body'],
      ['2024-01-03', 'hourly_units'],
      ['2024-01-04', 'hourly_units'],
    ]);
    expect(result!.rejections[0]!.reason).toMatch(/^answer unusable: not JSON/);
  });

  it('dedupes a day the answer repeats: an identical repeat silently, a different one as a rejection', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1), chunkDays: 3 });
    const repeatDay = (a: Record<string, unknown>, change: (d: Record<string, unknown[]>) => void) => {
      const daily = a.daily as Record<string, unknown[]>;
      for (const k of Object.keys(daily)) daily[k]!.push(daily[k]![1]);
      change(daily);
      return a;
    };
    h.server.inject(
      { kind: 'transform', transform: (a) => repeatDay(a, () => {}) },
      { kind: 'transform', transform: (a) => repeatDay(a, (d) => (d.temperature_2m_max![4] = 40)) },
    );
    const [result] = await fetchDays(
      { stations: [marrakech], from: '2024-01-01', to: '2024-01-06', mode: 'archive' },
      h.deps,
    );
    expect(result!.observations.map((o) => o.date)).toEqual([
      '2024-01-01',
      '2024-01-02',
      '2024-01-03',
      '2024-01-04',
      '2024-01-05',
      '2024-01-06',
    ]);
    expect(result!.observations.find((o) => o.date === '2024-01-04')!.maxTemp).not.toBe(40);
    expect(result!.rejections).toHaveLength(1);
    expect(result!.rejections[0]).toMatchObject({ date: '2024-01-04', field: 'date' });
    expect(result!.rejections[0]!.reason).toMatch(/conflicting duplicate .*"maxTemp":40/);
    expect(h.deps.counters).toMatchObject({ duplicatesIdentical: 1, duplicatesConflicting: 1 });
  });

  it('refuses a station listed twice and a range backwards', async () => {
    h = await startHarness({ now: Date.UTC(2025, 2, 1) });
    await expect(
      fetchDays(
        { stations: [marrakech, marrakech], from: '2024-01-01', to: '2024-01-02', mode: 'archive' },
        h.deps,
      ),
    ).rejects.toThrow(/listed twice/);
    await expect(
      fetchDays({ stations: [marrakech], from: '2024-01-02', to: '2024-01-01', mode: 'archive' }, h.deps),
    ).rejects.toSatisfy((e) => isRainstreamError(e, 'VALIDATION'));
    expect(h.server.requests).toHaveLength(0);
  });
});

describe('fetchDays, forecast (latest days)', () => {
  it('fetches the last complete days with past_days, never today', async () => {
    const now = Date.UTC(2024, 5, 15, 10); // 20:00 on 15 June in Sydney
    h = await startHarness({ now });
    const results = await fetchDays(
      { stations: [marrakech, sydney], from: '2024-06-12', to: '2024-06-14', mode: 'forecast' },
      h.deps,
    );
    expect(
      h.server.requests.map((r) => [r.endpoint, r.params.get('past_days'), r.params.get('forecast_days')]),
    ).toEqual([
      ['/v1/forecast', '5', '1'],
      ['/v1/forecast', '5', '1'],
    ]);
    for (const r of results) {
      expect(r.failures).toEqual([]);
      expect(r.rejections).toEqual([]);
      expect(r.observations.map((o) => o.date)).toEqual(['2024-06-12', '2024-06-13', '2024-06-14']);
      expect(r.raw[0]!.mode).toBe('forecast');
    }
    const [, south] = results;
    expect(day(south!, '2024-06-14').temp9am).toBe(
      truth(sydney, 'temperature_2m', Date.UTC(2024, 5, 13, 23)),
    );
    expect(day(south!, '2024-06-14').rainfall).not.toBeNull();
  });

  it('refuses today (not complete) and days beyond the forecast API reach', async () => {
    const now = Date.UTC(2024, 5, 15, 10);
    h = await startHarness({ now });
    await expect(
      fetchDays({ stations: [marrakech], from: '2024-06-14', to: '2024-06-15', mode: 'forecast' }, h.deps),
    ).rejects.toThrow(/complete days only/);
    await expect(
      fetchDays(
        { stations: [marrakech], from: addDays('2024-06-15', -92), to: '2024-06-14', mode: 'forecast' },
        h.deps,
      ),
    ).rejects.toThrow(/use archive/);
    expect(h.server.requests).toHaveLength(0);
  });
});

describe('fetchDays, abort', () => {
  it('throws the abort reason instead of reporting failures', async () => {
    const controller = new AbortController();
    h = await startHarness({ now: Date.UTC(2025, 2, 1), signal: controller.signal });
    h.server.inject({ kind: 'hang' });
    const pending = fetchDays(
      { stations: [marrakech], from: '2024-01-01', to: '2024-01-02', mode: 'archive' },
      h.deps,
    );
    const poll = setInterval(() => {
      if (h?.server.requests.length) controller.abort(new Error('shutting down'));
    }, 5);
    await expect(pending).rejects.toThrow('shutting down');
    clearInterval(poll);
  });
});
