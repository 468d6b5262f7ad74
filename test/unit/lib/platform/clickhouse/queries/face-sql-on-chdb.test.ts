/**
 * The queries behind the API and the dashboard (quality report, prediction history, drift view, alerts,
 * training stats), run on current ClickHouse (26.x, in-process through chDB) over every migration; the
 * integration tests run the same on the 18.16 server. Expected figures are computed here in TypeScript,
 * independently of the SQL.
 */
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../../../../../lib/domain/time.ts';
import { loadMigrations, migrate } from '../../../../../../lib/platform/clickhouse/migrate.ts';
import {
  averagePrecision,
  QUALITY_GROUPINGS,
  qualityReport,
  thresholdScores,
} from '../../../../../../lib/platform/clickhouse/queries/quality-report.ts';
import { rocAuc } from '../../../../../../lib/platform/clickhouse/queries/quality.ts';
import {
  latestPredictionDate,
  predictionHistory,
  recentPredictionHistory,
  recentPredictionHistorySql,
} from '../../../../../../lib/platform/clickhouse/queries/prediction-history.ts';
import {
  driftIncidents,
  driftWeeks,
  openDriftIncidents,
} from '../../../../../../lib/platform/clickhouse/queries/drift-view.ts';
import {
  deliveryRow,
  listDeliveries,
  listSubscriptions,
  subscriptionRow,
} from '../../../../../../lib/platform/clickhouse/queries/alerts.ts';
import { trainingRunStats } from '../../../../../../lib/platform/clickhouse/queries/training-stats.ts';
import { analyticsSeed, SEED_LOCATIONS } from '../../../../../support/analytics-seed.ts';
import { chdbRunner } from '../../../../../support/chdb.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../../../schemas/clickhouse/', import.meta.url));

let session: Session;
let ch: ReturnType<typeof chdbRunner>;
const { predictions, actuals } = analyticsSeed();

beforeAll(async () => {
  session = new Session();
  session.query('CREATE DATABASE IF NOT EXISTS rs_face');
  session.query('USE rs_face');
  ch = chdbRunner(session);
  await migrate(ch, await loadMigrations(MIGRATIONS_DIR));
  await ch.insertJson('predictions', predictions);
  await ch.insertJson('actuals', actuals);
});

afterAll(() => session.close());

/** The joined pairs of the seed, as the SQL should see them. */
function pairs(filter: (p: (typeof predictions)[number]) => boolean = () => true) {
  const outcome = new Map(actuals.map((a) => [`${a.location}|${a.date}`, a]));
  return predictions.filter(filter).flatMap((p) => {
    const a = outcome.get(`${p.location}|${p.date}`);
    return a && a.status === 'joined' && a.rain_tomorrow !== null
      ? [{ p: p.probability, y: a.rain_tomorrow, p0: p }]
      : [];
  });
}

function pointsOf(list: { p: number; y: number }[]) {
  const m = new Map<number, { probability: number; pos: number; neg: number }>();
  for (const { p, y } of list) {
    const point = m.get(p) ?? { probability: p, pos: 0, neg: 0 };
    if (y) point.pos++;
    else point.neg++;
    m.set(p, point);
  }
  return [...m.values()].sort((a, b) => a.probability - b.probability);
}

describe('quality report on ClickHouse 26.x (chDB)', () => {
  it('matches the TypeScript computation overall, at a threshold other than the decision', async () => {
    const threshold = 0.4;
    const [row] = await qualityReport(ch, 'overall', {}, threshold);
    const list = pairs();
    const confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
    for (const { p, y } of list) {
      const cell = p >= threshold ? (y ? 'tp' : 'fp') : y ? 'fn' : 'tn';
      confusion[cell]++;
    }
    expect(row!.n).toBe(list.length);
    expect(row!.confusion).toEqual(confusion);
    expect(row!.accuracy).toBeCloseTo(thresholdScores(confusion).accuracy, 12);
    expect(row!.f1).toBeCloseTo(thresholdScores(confusion).f1, 12);
    expect(row!.brier).toBeCloseTo(list.reduce((s, e) => s + (e.p - e.y) ** 2, 0) / list.length, 10);
    expect(row!.rocAuc).toBeCloseTo(rocAuc(pointsOf(list)), 12);
    expect(row!.prAuc).toBeCloseTo(averagePrecision(pointsOf(list)), 12);
    expect(row!.calibration.reduce((s, b) => s + b.n, 0)).toBe(list.length);
    const top = list.filter((e) => e.p >= 0.9);
    const topBin = row!.calibration.find((b) => b.bin === 9);
    expect(topBin?.n ?? 0).toBe(top.length);
  });

  for (const grouping of QUALITY_GROUPINGS) {
    it(`answers per ${grouping}, buckets adding up to the whole`, async () => {
      const rows = await qualityReport(ch, grouping, {}, 0.5);
      expect(rows.reduce((s, r) => s + r.n, 0)).toBe(pairs().length);
      if (grouping === 'location') expect(rows.map((r) => r.bucket)).toEqual([...SEED_LOCATIONS].sort());
      if (grouping === 'month') expect(rows[0]!.bucket).toBe('2016-11');
      if (grouping === 'season') expect(rows.map((r) => r.bucket).sort()).toEqual(['spring', 'summer']);
    });
  }

  it('filters by station (escaped) and dates', async () => {
    const [row] = await qualityReport(
      ch,
      'overall',
      { location: `O'Connor`, from: '2016-12-01', to: '2016-12-31' },
      0.5,
    );
    expect(row!.n).toBe(pairs((p) => p.location === `O'Connor` && p.date.startsWith('2016-12')).length);
  });
});

describe('prediction history on ClickHouse 26.x (chDB)', () => {
  it('lists a station with outcomes where joined, pending where not', async () => {
    const history = await predictionHistory(ch, 'Albury', '2016-11-01', '2016-11-30');
    expect(history).toHaveLength(30);
    const missing = history.filter((h) => h.outcome === 'missing');
    expect(missing.length).toBe(3);
    expect(missing.every((h) => h.rainTomorrow === null)).toBe(true);
    const first = actuals.find((a) => a.location === 'Albury' && a.date === '2016-11-01')!;
    expect(history[0]!.rainTomorrow).toBe(first.rain_tomorrow === 1);
    expect(await latestPredictionDate(ch, 'Albury')).toBe('2017-02-28');
    expect(await latestPredictionDate(ch, 'Nowhere')).toBeNull();
  });

  it('lists the last days up to the newest forecast in one query, as the two-step ranged one does', async () => {
    const latest = (await latestPredictionDate(ch, 'Albury'))!;
    const recent = await recentPredictionHistory(ch, 'Albury', 90);
    expect(recent).toEqual(await predictionHistory(ch, 'Albury', addDays(latest, -89), latest));
    expect(recent.at(-1)!.date).toBe(latest);
    expect(recent[0]!.date >= addDays(latest, -89)).toBe(true);
    expect(recent.length).toBeGreaterThan(30);
    expect(await recentPredictionHistory(ch, 'Nowhere', 90)).toEqual([]);
    expect(() => recentPredictionHistorySql('Albury', 0)).toThrow(RangeError);
  });

  it('leaves the outcome null (pending) where no actual exists', async () => {
    await ch.insertJson('predictions', [{ ...predictions[0]!, location: 'Pending', ver: 1 }]);
    const [point] = await predictionHistory(ch, 'Pending', '2016-01-01', '2017-12-31');
    expect(point).toMatchObject({ outcome: null, rainTomorrow: null });
  });
});

describe('drift view on ClickHouse 26.x (chDB)', () => {
  const row = (week: string, name: string, value: number, alert: number) => ({
    week,
    model_version: 'm-1',
    kind: 'feature',
    name,
    statistic: 'psi',
    value,
    threshold: 0.2,
    alert,
    n: 300,
    computed_at: 1_500_000_000,
    ver: 1,
  });

  it('reads weeks and derives incidents, open when alerting in the newest week', async () => {
    await ch.insertJson('drift', [
      row('2017-01-02', 'humidity3pm', 0.3, 1),
      row('2017-01-09', 'humidity3pm', 0.5, 1),
      row('2017-01-16', 'humidity3pm', 0.1, 0),
      row('2017-01-23', 'humidity3pm', 0.25, 1),
      row('2017-01-23', 'pressure9am', 0.05, 0),
    ]);
    expect(await driftWeeks(ch, { from: '2017-01-09', to: '2017-01-16' })).toHaveLength(2);
    const incidents = await driftIncidents(ch);
    expect(incidents.map((i) => [i.openedWeek, i.lastWeek, i.weeks, i.open, i.maxValue])).toEqual([
      ['2017-01-23', '2017-01-23', 1, true, 0.25],
      ['2017-01-02', '2017-01-09', 2, false, 0.5],
    ]);
    expect(await openDriftIncidents(ch)).toBe(1);
  });
});

describe('alerts tables on ClickHouse 26.x (chDB)', () => {
  it('lists live subscriptions (newest write wins, deleted ones gone) without secrets', async () => {
    const base = {
      id: 's-1',
      kind: 'forecast',
      location: 'Sydney',
      threshold: 0.7,
      url: 'https://hooks.example.com/rain',
      description: `O'Brien's farm`,
      createdBy: 'ops',
      createdAt: 1_700_000_000_000,
      deleted: false,
    };
    await ch.insertJson('alert_subscriptions', [
      subscriptionRow(base, 1),
      subscriptionRow({ ...base, threshold: 0.8 }, 2),
      subscriptionRow({ ...base, id: 's-2', kind: 'champion', location: null, threshold: null }, 1),
      subscriptionRow({ ...base, id: 's-3' }, 1),
      subscriptionRow({ ...base, id: 's-3', deleted: true }, 2),
    ]);
    const list = await listSubscriptions(ch);
    expect(list.map((s) => [s.id, s.threshold, s.location])).toEqual([
      ['s-1', 0.8, 'Sydney'],
      ['s-2', null, null],
    ]);
    expect(JSON.stringify(list)).not.toContain('secret');
  });

  it('logs every delivery attempt and lists them newest first', async () => {
    const attempt = (n: number, status: 'retrying' | 'delivered', at: number) =>
      deliveryRow({
        deliveryId: 'd-1',
        subscriptionId: 's-1',
        kind: 'forecast',
        event: 'Sydney 2017-01-01',
        host: 'hooks.example.com',
        attempt: n,
        status,
        httpStatus: status === 'delivered' ? 200 : 500,
        error: '',
        durationMs: 12.4,
        at,
      });
    await ch.insertJson('alert_deliveries', [
      attempt(1, 'retrying', 1_700_000_000_000),
      attempt(2, 'delivered', 1_700_000_002_000),
    ]);
    const log = await listDeliveries(ch, 's-1', 10);
    expect(log.map((d) => [d.attempt, d.status, d.httpStatus])).toEqual([
      [2, 'delivered', 200],
      [1, 'retrying', 500],
    ]);
    expect(await listDeliveries(ch, `no'such`, 10)).toEqual([]);
  });
});

describe('training stats on ClickHouse 26.x (chDB)', () => {
  it('counts runs by outcome and times the newest', async () => {
    expect(await trainingRunStats(ch)).toEqual({
      byOutcome: { promoted: 0, kept: 0, skipped: 0 },
      lastRunSeconds: null,
    });
    const run = (id: string, winner: string, promoted: number, started: number, finished: number) => ({
      run_id: id,
      week: '2017-01-02',
      data_until: '2017-01-01',
      rows: 10,
      candidates: '[]',
      winner,
      promoted,
      reasons: '',
      staleness_days: 0,
      coalesced_weeks: 1,
      started_at: started,
      finished_at: finished,
      ver: 1,
    });
    await ch.insertJson('training_runs', [
      run('r1', 'm-1', 1, 1_700_000_000, 1_700_000_010),
      run('r2', 'm-2', 0, 1_700_001_000, 1_700_001_004),
      run('r3', '', 0, 1_700_000_500, 1_700_000_501),
    ]);
    expect(await trainingRunStats(ch)).toEqual({
      byOutcome: { promoted: 1, kept: 1, skipped: 1 },
      lastRunSeconds: 4,
    });
  });
});
