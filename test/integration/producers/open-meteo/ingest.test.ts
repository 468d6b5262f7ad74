/**
 * Live ingestion on the real stack, against the stand-in API: a station-year of Marrakech backfilled
 * lands every day once on the observations topic (also after running the same backfill again), the
 * raw topic holds the answers, rejected days reach the DLQ with reasons, a changed day is a conflict
 * with both versions, remap reproduces the observations from the raw topic alone, a second process on
 * the same station cannot put a day twice, and the pipeline stages give every day a rain forecast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from '../../../../consumers/host/pipeline.ts';
import type { EventCodec, Observation } from '../../../../lib/domain/events.ts';
import { runBackfill, type BackfillRequest } from '../../../../producers/open-meteo/backfill.ts';
import { fetchDays, remapRawAnswer } from '../../../../producers/open-meteo/fetch-days.ts';
import { fingerprintObservation } from '../../../../producers/open-meteo/ingestion-state.ts';
import { readIngestionStates } from '../../../../producers/open-meteo/ingestion.ts';
import { runRemap } from '../../../../producers/open-meteo/remap.ts';
import { createMetrics } from '../../../../lib/platform/metrics.ts';
import type { OpenMeteoStandIn } from '../../../support/open-meteo-server.ts';
import { pollUntil, type TestContext } from '../../../support/integration.ts';
import { daysOf, marrakech, type VirtualClock } from './harness.ts';
import type { LiveStation } from '../../../../producers/open-meteo/stations.ts';
import {
  closeStandInBed,
  countsByDay,
  dlqOnTopic,
  fetchDepsFor,
  ingestionDeps,
  observationsOnTopic,
  openStandInBed,
  rawOnTopic,
  withIngestion,
} from './kafka-harness.ts';

// Fetched during Ramadan 2025 (Morocco at UTC+0); the archive has published all of 2024.
const NOW = Date.UTC(2025, 2, 1, 12);
const YEAR = { from: '2024-01-01', to: '2024-12-31' };
const rabat: LiveStation = {
  name: 'Rabat',
  latitude: 34.0209,
  longitude: -6.8416,
  timezone: 'Africa/Casablanca',
};

describe('Open-Meteo ingestion onto Kafka', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let server: OpenMeteoStandIn;
  let clock: VirtualClock;

  const backfill = (req: Omit<BackfillRequest, 'stations'>, station: LiveStation = marrakech) =>
    withIngestion(ctx, codec, [station.name], (ingestion) =>
      runBackfill(
        { stations: [station], ...req },
        { ingestion, fetch: fetchDepsFor(server, clock), logger: ctx.logger, metrics: createMetrics() },
      ),
    );
  const positionOf = (r: { topic: string; partition: number; offset: string }) =>
    `${r.topic}:${r.partition}:${r.offset}`;

  beforeAll(async () => {
    ({ ctx, codec, clock, server } = await openStandInBed('ingest', NOW));
  });

  afterAll(() => closeStandInBed({ ctx, server }));

  it('backfills a station-year: each day once on the observations topic, the answers on the raw topic', async () => {
    const metrics = createMetrics();
    const { reports, summary } = await withIngestion(ctx, codec, ['Marrakech'], (ingestion) =>
      runBackfill(
        { stations: [marrakech], ...YEAR },
        { ingestion, fetch: fetchDepsFor(server, clock), logger: ctx.logger, metrics },
      ),
    );
    expect(reports[0]).toMatchObject({ ingested: 366, identical: 0, conflicts: 0, rejected: 0, answers: 12 });
    expect(reports[0]!.failures).toEqual([]);
    expect(summary).toMatchObject({ openMeteo: { requests: 12, rateLimited: 0, apiErrors: 0, retries: 0 } });
    expect(metrics.snapshot().counters).toMatchObject({
      open_meteo_calls_total: 12,
      'open_meteo_days_total{outcome=ingested}': 366,
    });

    const landed = await observationsOnTopic(ctx, codec);
    const counts = countsByDay(landed);
    expect([...counts.keys()].sort()).toEqual(daysOf(YEAR.from, YEAR.to).map((d) => `Marrakech ${d}`));
    expect(Math.max(...counts.values())).toBe(1);
    for (const { record, observation } of landed) {
      expect(record.key!.toString()).toBe('Marrakech');
      expect(observation.source).toBe('open-meteo');
    }
    // In date order on the topic: the features stage sees the station's days as they happened.
    const dates = landed.map((l) => l.observation.date);
    expect(dates).toEqual([...dates].sort());

    // The raw topic holds the twelve answers exactly as the server sent them, before any mapping.
    const raw = await rawOnTopic(ctx, codec);
    expect(raw.map((r) => r.raw.body)).toEqual(server.answers.map((a) => a.body));
    expect(raw[0]!.raw).toMatchObject({
      station: 'Marrakech',
      mode: 'archive',
      from: '2024-01-01',
      to: '2024-01-31',
      status: 200,
      attempts: 1,
      timezone: 'Africa/Casablanca',
    });
    expect(raw[0]!.raw.url).toContain('start_date=2023-12-31&end_date=2024-01-31');
    // Every observation names the raw record it was mapped from, and that answer covers its day.
    const rawAt = new Map(raw.map((r) => [positionOf(r.record), r.raw]));
    for (const { observation } of landed) {
      const answer = rawAt.get(observation.sourcePosition!);
      expect(answer, observation.sourcePosition!).toBeDefined();
      expect(observation.date >= answer!.from && observation.date <= answer!.to).toBe(true);
    }

    // The state on its topic knows every day, its fingerprint and where it is.
    const state = (await readIngestionStates(ingestionDeps(ctx, codec))).get('Marrakech')!;
    expect(state.days.size).toBe(366);
    for (const { record, observation } of [landed[0]!, landed[200]!]) {
      expect(state.days.get(observation.date)).toEqual({
        fingerprint: fingerprintObservation(observation),
        offset: Number(record.offset),
      });
    }
  });

  it('runs the same backfill again without asking the API for anything or adding a day', async () => {
    const calls = server.requests.length;
    const { reports } = await backfill(YEAR);
    expect(server.requests.length).toBe(calls);
    expect(reports[0]).toMatchObject({ ingested: 0, answers: 0 });
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    expect(counts.size).toBe(366);
    expect(Math.max(...counts.values())).toBe(1);
  });

  it('sends rejected days to the DLQ with their reasons, and the next run asks only for them', async () => {
    server.setOverrides([
      // Physically impossible: rejected on maxTemp.
      { section: 'daily', variable: 'temperature_2m_max', time: '2024-03-10', value: 75 },
      // The day's maximum below its minimum: rejected too.
      { section: 'daily', variable: 'temperature_2m_max', time: '2024-03-20', value: -30 },
    ]);
    const march = { from: '2024-03-01', to: '2024-03-31' };
    const first = await backfill(march, rabat);
    expect(first.reports[0]).toMatchObject({ ingested: 29, rejected: 2, answers: 1 });

    const dlq = (await dlqOnTopic(ctx)).filter((d) => d.key === 'Rabat');
    expect(dlq.map((d) => [d.value.date, d.headers.field])).toEqual([
      ['2024-03-10', 'maxTemp'],
      ['2024-03-20', 'maxTemp'],
    ]);
    expect(dlq[0]!.headers.reason).toMatch(/75/);
    expect(dlq[1]!.headers.reason).toMatch(/below/i);
    const raw = new Map((await rawOnTopic(ctx, codec)).map((r) => [positionOf(r.record), r.raw]));
    for (const d of dlq) {
      // Sourced by the raw record the day was mapped from, and by its URL.
      expect(d.headers.sourceTopic).toBe(ctx.config.topics.openMeteoRaw);
      const answer = raw.get(
        `${d.headers.sourceTopic}:${d.headers.sourcePartition}:${d.headers.sourceOffset}`,
      );
      expect(answer?.station).toBe('Rabat');
      expect(answer?.url).toBe(d.url);
    }

    // Fixed upstream: one call over the two days and the nine known between them (cheaper than two).
    server.setOverrides([]);
    const before = server.requests.length;
    const second = await backfill(march, rabat);
    expect(
      server.requests.slice(before).map((r) => [r.params.get('start_date'), r.params.get('end_date')]),
    ).toEqual([['2024-03-09', '2024-03-20']]);
    expect(second.reports[0]).toMatchObject({ ingested: 2, identical: 9, conflicts: 0, rejected: 0 });
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    for (const d of daysOf(march.from, march.to)) expect(counts.get(`Rabat ${d}`)).toBe(1);
  });

  it('refetches: same values are skipped silently, other values go to the DLQ with both versions', async () => {
    server.setOverrides([
      { section: 'daily', variable: 'temperature_2m_max', time: '2024-05-05', value: 33.3 },
    ]);
    const { reports } = await backfill({ from: '2024-05-01', to: '2024-05-31', refetch: true });
    expect(reports[0]).toMatchObject({ ingested: 0, identical: 30, conflicts: 1, rejected: 0 });
    server.setOverrides([]);

    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    expect(counts.get('Marrakech 2024-05-05')).toBe(1);
    // The DLQ's partitions interleave when read: find this station's new records by key.
    const conflicts = (await dlqOnTopic(ctx)).filter((d) => d.key === 'Marrakech');
    expect(conflicts).toHaveLength(1);
    const [conflict] = conflicts;
    expect(conflict!.headers.field).toBe('date');
    expect(conflict!.headers.reason).toMatch(/conflicting duplicate of \(Marrakech, 2024-05-05\)/);
    const onTopic = conflict!.value.onTopic as { position: string; observation: Observation };
    const rejected = conflict!.value.rejected as { position: string; observation: Observation };
    expect(onTopic.observation.date).toBe('2024-05-05');
    expect(onTopic.observation.maxTemp).not.toBe(33.3);
    expect(rejected.observation.maxTemp).toBe(33.3);
    expect(onTopic.position).toMatch(new RegExp(`^${ctx.config.topics.observations}:\\d+:\\d+$`));
    expect(rejected.position).toBe(
      `${conflict!.headers.sourceTopic}:${conflict!.headers.sourcePartition}:${conflict!.headers.sourceOffset}`,
    );
  });

  it('remaps the raw topic without calling the API and reproduces the same observations', async () => {
    const calls = server.requests.length;
    const dlqBefore = (await dlqOnTopic(ctx)).length;
    const observationsBefore = (await observationsOnTopic(ctx, codec)).length;
    const { reports } = await withIngestion(ctx, codec, ['Marrakech', 'Rabat'], (ingestion) =>
      runRemap(
        { stations: ['Marrakech', 'Rabat'] },
        { kafka: ctx.kafka, codec, topics: ctx.config.topics, ingestion, logger: ctx.logger },
      ),
    );
    expect(server.requests.length).toBe(calls);
    // Marrakech: the year's twelve answers and the refetched May, whose changed day is a conflict
    // again. Rabat: March, whose two bad days are rejected again, and the answer that filled them.
    expect(reports).toEqual([
      expect.objectContaining({
        station: 'Marrakech',
        answers: 13,
        ingested: 0,
        identical: 366 + 30,
        conflicts: 1,
        rejected: 0,
      }),
      expect.objectContaining({
        station: 'Rabat',
        answers: 2,
        ingested: 0,
        identical: 29 + 11,
        conflicts: 0,
        rejected: 2,
      }),
    ]);
    expect((await dlqOnTopic(ctx)).length - dlqBefore).toBe(3);

    // Nothing new on the topic, and each observation there is what its raw answer maps to today.
    const raw = new Map((await rawOnTopic(ctx, codec)).map((r) => [positionOf(r.record), r.raw]));
    const landed = await observationsOnTopic(ctx, codec);
    expect(landed).toHaveLength(observationsBefore);
    for (const { observation } of landed) {
      const answer = raw.get(observation.sourcePosition!)!;
      const station = {
        name: answer.station,
        latitude: answer.latitude,
        longitude: answer.longitude,
        timezone: answer.timezone,
      };
      const again = remapRawAnswer({
        station,
        from: observation.date,
        to: observation.date,
        body: answer.body,
      });
      expect({ ...again.observations[0], sourcePosition: observation.sourcePosition }).toEqual(observation);
    }

    // Limited to some days, it maps only those: May 1-10 is in two monthly chunks and the refetch.
    const may = await withIngestion(ctx, codec, ['Marrakech'], (ingestion) =>
      runRemap(
        { stations: ['Marrakech'], from: '2024-05-01', to: '2024-05-10' },
        { kafka: ctx.kafka, codec, topics: ctx.config.topics, ingestion, logger: ctx.logger },
      ),
    );
    expect(may.reports[0]).toMatchObject({ answers: 3, identical: 3 + 7 + 9, conflicts: 1 });
  });

  it('lets one process at a time write a station: the one fenced out re-reads the state and adds nothing twice', async () => {
    const fetchDeps = fetchDepsFor(server, clock);
    const [days] = await fetchDays(
      { stations: [marrakech], from: '2025-01-01', to: '2025-01-05', mode: 'archive' },
      fetchDeps,
    );
    const answer = days!.raw[0]!;
    await withIngestion(ctx, codec, ['Marrakech'], async (first) => {
      const a = first.stations.get('Marrakech')!;
      const rawPosition = await a.writeRaw(answer);
      // A second process takes the station over (fencing the first) and ingests the same days.
      await withIngestion(ctx, codec, ['Marrakech'], async (second) => {
        const b = second.stations.get('Marrakech')!;
        expect(await b.ingestDays(rawPosition, answer.url, remapRawAnswer(answer))).toMatchObject({
          ingested: 5,
        });
      });
      // The first one's transaction is refused; it takes the id back, re-reads the state, and finds
      // the days there already.
      expect(await a.ingestDays(rawPosition, answer.url, remapRawAnswer(answer))).toEqual({
        ingested: 0,
        identical: 5,
        conflicts: 0,
        rejected: 0,
      });
    });
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    for (const d of daysOf('2025-01-01', '2025-01-05')) expect(counts.get(`Marrakech ${d}`)).toBe(1);
  });

  it('gives every ingested day a rain forecast and a max-temperature forecast through the pipeline stages', async () => {
    const pipeline = await startPipeline(ctx.config, ctx.logger, ['features', 'predictor', 'labeler']);
    try {
      const byTask = await pollUntil(
        async () => {
          const rows = await ctx.clickhouse.rows<{
            task: string;
            n: string;
            days: string;
            first: string;
            last: string;
          }>(
            `SELECT task, count() AS n, uniqExact(date) AS days, toString(min(date)) AS first, toString(max(date)) AS last
             FROM predictions FINAL WHERE location = 'Marrakech' AND date <= '2024-12-31' GROUP BY task ORDER BY task`,
          );
          return rows.length === 2 && rows.every((r) => Number(r.n) >= 366) ? rows : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500, what: '366 Marrakech predictions of each task in ClickHouse' },
      );
      expect(byTask).toEqual([
        { task: 'max_temp', n: '366', days: '366', first: '2024-01-01', last: '2024-12-31' },
        { task: 'rain', n: '366', days: '366', first: '2024-01-01', last: '2024-12-31' },
      ]);
      // A rain forecast is a probability, from the prior until a model is promoted; a max-temperature
      // forecast a temperature (persistence of the day's maximum until a model is promoted).
      const [p] = await ctx.clickhouse.rows<{ bad: string }>(
        `SELECT countIf(probability < 0 OR probability > 1 OR isNaN(probability)) AS bad FROM predictions
         WHERE task = 'rain' AND location = 'Marrakech'`,
      );
      expect(p!.bad).toBe('0');
      const [t] = await ctx.clickhouse.rows<{ bad: string; low: number; high: number }>(
        `SELECT countIf(isNull(value) OR isNaN(assumeNotNull(value))) AS bad, min(value) AS low, max(value) AS high
         FROM predictions FINAL WHERE task = 'max_temp' AND location = 'Marrakech' AND date <= '2024-12-31'`,
      );
      expect(t!.bad).toBe('0');
      expect(Number(t!.low)).toBeGreaterThan(-20);
      expect(Number(t!.high)).toBeLessThan(60);
    } finally {
      await pipeline.stop();
    }
  }, 180_000);
});
