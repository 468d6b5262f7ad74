/**
 * The daily scheduler on the real stack with an injected clock (shared with the stand-in API): started
 * three days behind, it catches up exactly the missed days, then runs at 06:00 of each station's own
 * clock (Marrakech, Sydney), fetching yesterday each time, and stops at the abort signal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventCodec } from '../../../../lib/domain/events.ts';
import { createMetrics } from '../../../../lib/platform/metrics.ts';
import { runBackfill } from '../../../../producers/open-meteo/backfill.ts';
import { runDaily, type DailyRun } from '../../../../producers/open-meteo/daily.ts';
import type { OpenMeteoStandIn } from '../../../support/open-meteo-server.ts';
import type { TestContext } from '../../../support/integration.ts';
import { daysOf, marrakech, sydney, type VirtualClock } from './harness.ts';
import {
  closeStandInBed,
  countsByDay,
  fetchDepsFor,
  observationsOnTopic,
  openStandInBed,
  withIngestion,
} from './kafka-harness.ts';

// 07:00 in Marrakech (UTC+1 in June), 16:00 in Sydney (UTC+10).
const START = Date.UTC(2025, 5, 15, 6);

describe('daily ingestion scheduler', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let server: OpenMeteoStandIn;
  let clock: VirtualClock;

  beforeAll(async () => {
    ({ ctx, codec, clock, server } = await openStandInBed('daily', START));
  });

  afterAll(() => closeStandInBed({ ctx, server }));

  it('catches up the days missed since the last one ingested, then runs at 06:00 station time', async () => {
    // Marrakech was last ingested on June 11: June 12, 13 and 14 are owed at the start.
    await withIngestion(ctx, codec, ['Marrakech'], (ingestion) =>
      runBackfill(
        { stations: [marrakech], from: '2025-06-01', to: '2025-06-11' },
        { ingestion, fetch: fetchDepsFor(server, clock), logger: ctx.logger },
      ),
    );
    const requestsBefore = server.requests.length;

    const runs: DailyRun[] = [];
    const abort = new AbortController();
    const metrics = createMetrics();
    await withIngestion(ctx, codec, ['Marrakech', 'SydneyLive'], (ingestion) =>
      runDaily([marrakech, sydney], {
        ingestion,
        fetch: fetchDepsFor(server, clock),
        logger: ctx.logger,
        metrics,
        clock,
        dailyAt: '06:00',
        signal: abort.signal,
        onRun: (run) => {
          runs.push(run);
          if (runs.length === 3) abort.abort();
        },
      }),
    );

    const summary = runs.map((r) => ({
      at: new Date(r.at).toISOString(),
      owed: r.owed,
      ingested: Object.fromEntries(r.reports.map((s) => [s.station, s.ingested])),
      next: new Date(r.nextRunAt).toISOString(),
    }));
    expect(summary).toEqual([
      {
        // The start: Marrakech catches up its three days; Sydney, never ingested, owes yesterday only.
        at: '2025-06-15T06:00:00.000Z',
        owed: { Marrakech: ['2025-06-12', '2025-06-13', '2025-06-14'], SydneyLive: ['2025-06-14'] },
        ingested: { Marrakech: 3, SydneyLive: 1 },
        next: '2025-06-15T20:00:00.000Z', // 06:00 on June 16 in Sydney
      },
      {
        at: '2025-06-15T20:00:00.000Z',
        owed: { Marrakech: [], SydneyLive: ['2025-06-15'] },
        ingested: { SydneyLive: 1 },
        next: '2025-06-16T05:00:00.000Z', // 06:00 on June 16 in Marrakech
      },
      {
        at: '2025-06-16T05:00:00.000Z',
        owed: { Marrakech: ['2025-06-15'], SydneyLive: [] },
        ingested: { Marrakech: 1 },
        next: '2025-06-16T20:00:00.000Z',
      },
    ]);
    for (const run of runs) {
      for (const report of run.reports) expect(report.failures).toEqual([]);
    }

    // One forecast call per station and run, reaching back just far enough (the day before the first
    // day owed starts its 9am rainfall day, and one more in case the API's clock is past midnight).
    const calls = server.requests.slice(requestsBefore);
    expect(calls.map((r) => [r.endpoint, r.params.get('latitude'), r.params.get('past_days')])).toEqual([
      ['/v1/forecast', String(marrakech.latitude), '5'],
      ['/v1/forecast', String(sydney.latitude), '3'],
      ['/v1/forecast', String(sydney.latitude), '3'],
      ['/v1/forecast', String(marrakech.latitude), '3'],
    ]);
    expect(metrics.snapshot().counters).toMatchObject({
      open_meteo_calls_total: 4,
      'open_meteo_days_total{outcome=ingested}': 6,
    });

    // Each day once on the topic.
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    expect([...counts.entries()].sort()).toEqual(
      [
        ...daysOf('2025-06-01', '2025-06-15').map((d) => `Marrakech ${d}`),
        'SydneyLive 2025-06-14',
        'SydneyLive 2025-06-15',
      ]
        .sort()
        .map((key) => [key, 1]),
    );
  });

  it('tries a run that could not fetch again half an hour later, and then catches up', async () => {
    const runs: DailyRun[] = [];
    const abort = new AbortController();
    const metrics = createMetrics();
    // Sydney's next run (06:00 on June 17 there) meets a server failing every attempt.
    const failing = Array.from({ length: 5 }, () => ({ kind: 'raw' as const, status: 503, body: 'busy' }));
    await withIngestion(ctx, codec, ['Marrakech', 'SydneyLive'], (ingestion) =>
      runDaily([marrakech, sydney], {
        ingestion,
        fetch: fetchDepsFor(server, clock),
        logger: ctx.logger,
        metrics,
        clock,
        dailyAt: '06:00',
        signal: abort.signal,
        onRun: (run) => {
          runs.push(run);
          if (runs.length === 1) server.inject(...failing);
          if (runs.length === 3) abort.abort();
        },
      }),
    );
    expect(
      runs.map((r) => ({
        at: new Date(r.at).toISOString(),
        owed: r.owed.SydneyLive,
        failures: r.reports.flatMap((s) => s.failures.map((f) => f.code)),
        ingested: r.reports.reduce((n, s) => n + s.ingested, 0),
        next: new Date(r.nextRunAt).toISOString(),
      })),
    ).toEqual([
      // Nothing owed where the last test stopped.
      {
        at: expect.any(String),
        owed: [],
        failures: [],
        ingested: 0,
        next: '2025-06-16T20:00:00.000Z',
      },
      {
        at: '2025-06-16T20:00:00.000Z',
        owed: ['2025-06-16'],
        failures: ['UPSTREAM_UNAVAILABLE'],
        ingested: 0,
        next: expect.stringMatching(/^2025-06-16T20:3\d/),
      },
      {
        at: expect.any(String),
        owed: ['2025-06-16'],
        failures: [],
        ingested: 1,
        next: '2025-06-17T05:00:00.000Z',
      },
    ]);
    // Half an hour after the failed run ended (its retries waited on the same clock).
    expect(runs[2]!.at - runs[1]!.nextRunAt).toBe(0);
    expect(runs[1]!.nextRunAt - runs[1]!.at).toBeGreaterThanOrEqual(30 * 60_000);
    expect(metrics.snapshot().counters).toMatchObject({
      open_meteo_retries_total: 4,
      open_meteo_failed_calls_total: 1,
    });
  });

  it('keeps a day owed after a 503 asking to come back in an hour, and fetches it when the hour is up', async () => {
    const runs: DailyRun[] = [];
    const ended: number[] = [];
    const abort = new AbortController();
    const metrics = createMetrics();
    await withIngestion(ctx, codec, ['Marrakech', 'SydneyLive'], (ingestion) =>
      runDaily([marrakech, sydney], {
        ingestion,
        fetch: fetchDepsFor(server, clock),
        logger: ctx.logger,
        metrics,
        clock,
        dailyAt: '06:00',
        signal: abort.signal,
        onRun: (run) => {
          runs.push(run);
          ended.push(clock.now());
          // Marrakech's next run (06:00 on June 17 there) meets a 503 asking for an hour, past the
          // client's two minutes of patience.
          if (runs.length === 1)
            server.inject({ kind: 'raw', status: 503, body: 'maintenance', retryAfter: '3600' });
          if (runs.length === 3) abort.abort();
        },
      }),
    );
    expect(
      runs.map((r) => ({
        at: new Date(r.at).toISOString(),
        owed: r.owed.Marrakech,
        failures: r.reports.flatMap((s) => s.failures.map((f) => [f.code, f.retriable])),
        ingested: r.reports.reduce((n, s) => n + s.ingested, 0),
      })),
    ).toEqual([
      { at: expect.any(String), owed: [], failures: [], ingested: 0 },
      // Not retried within the call: the day stays owed (retriable, not in the DLQ) ...
      {
        at: '2025-06-17T05:00:00.000Z',
        owed: ['2025-06-16'],
        failures: [['UPSTREAM_UNAVAILABLE', true]],
        ingested: 0,
      },
      // ... and the run half an hour later waits in the limiter for the rest of the hour, then fetches it.
      { at: '2025-06-17T05:30:00.000Z', owed: ['2025-06-16'], failures: [], ingested: 1 },
    ]);
    expect(ended[2]).toBeGreaterThanOrEqual(Date.UTC(2025, 5, 17, 6));
    expect(metrics.snapshot().counters).toMatchObject({ open_meteo_http_errors_total: 1 });
    expect(metrics.snapshot().counters.open_meteo_retries_total).toBeUndefined();
  });
});
