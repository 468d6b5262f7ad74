/**
 * Hostile answers against the ingestion on the real stack: whatever the API sends, the run goes on, the
 * bad call or day ends in the DLQ with its reason and source, the good days land, and a later run fills
 * what was refused without a day twice on the topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventCodec } from '../../../../lib/domain/events.ts';
import { runBackfill } from '../../../../producers/open-meteo/backfill.ts';
import { runDaily, type DailyRun } from '../../../../producers/open-meteo/daily.ts';
import { startOpenMeteoStandIn, type OpenMeteoStandIn } from '../../../support/open-meteo-server.ts';
import type { TestContext } from '../../../support/integration.ts';
import { daysOf, marrakech, virtualClock, type VirtualClock } from './harness.ts';
import {
  closeStandInBed,
  countsByDay,
  dlqOnTopic,
  fetchDepsFor,
  observationsOnTopic,
  openStandInBed,
  withIngestion,
} from './kafka-harness.ts';

const NOW = Date.UTC(2025, 2, 1, 12);

describe('Open-Meteo ingestion against hostile answers', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let server: OpenMeteoStandIn;
  let clock: VirtualClock;

  const backfill = (from: string, to: string) =>
    withIngestion(ctx, codec, ['Marrakech'], (ingestion) =>
      runBackfill(
        { stations: [marrakech], from, to },
        { ingestion, fetch: fetchDepsFor(server, clock), logger: ctx.logger },
      ),
    );

  beforeAll(async () => {
    ({ ctx, codec, clock, server } = await openStandInBed('om-hostile', NOW));
  });

  afterAll(() => closeStandInBed({ ctx, server }));

  it('refuses a huge answer and a redirect loop into the DLQ, goes on, and fills them in later', async () => {
    // January's call answers 3 MB (more than a raw record may hold); February's is normal.
    server.inject({ kind: 'raw', status: 200, body: `{"pad":"${'x'.repeat(3_000_000)}"}` });
    const first = await backfill('2024-01-01', '2024-02-29');
    expect(first.reports[0]).toMatchObject({ ingested: 29, rejected: 0, answers: 1 });
    expect(first.reports[0]!.failures).toMatchObject([
      { from: '2024-01-01', to: '2024-01-31', code: 'MESSAGE_TOO_LARGE', retriable: false },
    ]);

    // Asked again, January's call is redirected in a loop: refused at once, not retried as an outage.
    server.inject({ kind: 'redirect' });
    const second = await backfill('2024-01-01', '2024-02-29');
    expect(second.reports[0]).toMatchObject({ ingested: 0, answers: 0 });
    expect(second.reports[0]!.failures).toMatchObject([
      { from: '2024-01-01', to: '2024-01-31', code: 'UPSTREAM_REJECTED', retriable: false },
    ]);
    const dlq = (await dlqOnTopic(ctx)).filter((d) => d.key === 'Marrakech');
    expect(dlq.map((d) => [d.headers.field, d.value.code])).toEqual([
      ['request', 'MESSAGE_TOO_LARGE'],
      ['request', 'UPSTREAM_REJECTED'],
    ]);
    expect(dlq[0]!.headers.reason).toMatch(/larger than/);
    expect(dlq[1]!.headers.reason).toMatch(/redirect/);
    for (const d of dlq) expect(d.url).toContain('start_date=2023-12-31&end_date=2024-01-31');

    // The third time January answers normally: it lands, and no day is on the topic twice.
    const requests = server.requests.length;
    const third = await backfill('2024-01-01', '2024-02-29');
    expect(server.requests.length).toBeGreaterThan(requests);
    expect(third.reports[0]!.failures).toEqual([]);
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    expect([...counts.keys()].sort()).toEqual(
      daysOf('2024-01-01', '2024-02-29').map((d) => `Marrakech ${d}`),
    );
    expect(Math.max(...counts.values())).toBe(1);
  });

  it('asks the daily run again for a day rejected between two ingested ones, so no gap stays', async () => {
    // Marrakech ingested up to June 11; at 07:00 on June 15 the daily run owes June 12, 13 and 14, and
    // the answer has June 13 broken (MaxTemp far below MinTemp).
    clock = virtualClock(Date.UTC(2025, 5, 15, 6));
    await server.close();
    server = await startOpenMeteoStandIn({ now: clock.now });
    await backfill('2025-06-01', '2025-06-11');
    server.setOverrides([
      { section: 'daily', variable: 'temperature_2m_max', time: '2025-06-13', value: -40 },
    ]);
    const runs: DailyRun[] = [];
    const abort = new AbortController();
    await withIngestion(ctx, codec, ['Marrakech'], (ingestion) =>
      runDaily([marrakech], {
        ingestion,
        fetch: fetchDepsFor(server, clock),
        logger: ctx.logger,
        clock,
        dailyAt: '06:00',
        signal: abort.signal,
        onRun: (run) => {
          runs.push(run);
          server.setOverrides([]); // the API answers June 13 right from now on
          if (runs.length === 2) abort.abort();
        },
      }),
    );
    expect(runs.map((r) => [r.owed.Marrakech, r.reports[0]?.ingested, r.reports[0]?.rejected])).toEqual([
      [['2025-06-12', '2025-06-13', '2025-06-14'], 2, 1],
      [['2025-06-13', '2025-06-15'], 2, 0],
    ]);
    const dlq = (await dlqOnTopic(ctx)).filter((d) => d.value.date === '2025-06-13');
    expect(dlq).toHaveLength(1);
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    const june = [...counts.keys()].filter((k) => k.startsWith('Marrakech 2025-06')).sort();
    expect(june).toEqual(daysOf('2025-06-01', '2025-06-15').map((d) => `Marrakech ${d}`));
    expect(Math.max(...counts.values())).toBe(1);
  });

  it('stops calling for the run once a call went unanswered through all its retries, and a rerun fills in', async () => {
    // Every attempt of April's call hangs: May and June are not asked of a server that is away.
    const hanging = { ...fetchDepsFor(server, clock), timeoutMs: 200 };
    server.inject(...Array.from({ length: 5 }, () => ({ kind: 'hang' }) as const));
    const requests = server.requests.length;
    const first = await withIngestion(ctx, codec, ['Marrakech'], (ingestion) =>
      runBackfill(
        { stations: [marrakech], from: '2024-04-01', to: '2024-06-30' },
        { ingestion, fetch: hanging, logger: ctx.logger },
      ),
    );
    expect(server.requests.length - requests).toBe(5);
    expect(first.reports[0]!.ingested).toBe(0);
    expect(
      first.reports[0]!.failures.map((f) => [f.from, f.code, f.retriable, f.reason.slice(0, 15)]),
    ).toEqual([
      ['2024-04-01', 'TIMEOUT', true, 'gave up after 5'],
      ['2024-05-02', 'TIMEOUT', true, 'not attempted: '],
      ['2024-06-02', 'TIMEOUT', true, 'not attempted: '],
    ]);
    // Retriable: nothing in the DLQ for them; the next run asks for all three months.
    expect(
      (await dlqOnTopic(ctx)).filter((d) => /^2024-0[456]/.test(String(d.value.from ?? d.value.date))),
    ).toHaveLength(0);
    const second = await backfill('2024-04-01', '2024-06-30');
    expect(second.reports[0]).toMatchObject({ ingested: 91, failures: [] });
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    expect(Math.max(...counts.values())).toBe(1);
  });

  it('stops calling for the run after a 503 asking to come back in an hour, leaving the days owed, not in the DLQ', async () => {
    // July's call answers 503 with Retry-After an hour, past the client's two minutes of patience: as
    // after such a 429, no retry inside the call, and August and September are not asked.
    server.inject({ kind: 'raw', status: 503, body: 'maintenance', retryAfter: '3600' });
    const requests = server.requests.length;
    const slept = clock.slept.length;
    const first = await backfill('2024-07-01', '2024-09-30');
    expect(server.requests.length - requests).toBe(1);
    expect(clock.slept.length - slept).toBe(0);
    expect(first.reports[0]!.ingested).toBe(0);
    expect(first.reports[0]!.failures.map((f) => [f.from, f.code, f.retriable, f.reason])).toEqual([
      ['2024-07-01', 'UPSTREAM_UNAVAILABLE', true, 'Open-Meteo HTTP 503: maintenance'],
      [
        '2024-08-01',
        'UPSTREAM_UNAVAILABLE',
        true,
        'not attempted: Open-Meteo asked to be called again later (Open-Meteo HTTP 503: maintenance)',
      ],
      [
        '2024-09-01',
        'UPSTREAM_UNAVAILABLE',
        true,
        'not attempted: Open-Meteo asked to be called again later (Open-Meteo HTTP 503: maintenance)',
      ],
    ]);
    expect(
      (await dlqOnTopic(ctx)).filter((d) => /^2024-0[789]/.test(String(d.value.from ?? d.value.date))),
    ).toHaveLength(0);
    // The next run (with its own limiter, as a process started later) asks for all three months.
    const second = await backfill('2024-07-01', '2024-09-30');
    expect(second.reports[0]).toMatchObject({ ingested: 92, failures: [] });
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    expect(Math.max(...counts.values())).toBe(1);
  });
});
