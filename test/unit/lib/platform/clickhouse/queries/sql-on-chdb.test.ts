/**
 * Every migration and every analytics query of the project, run on current ClickHouse (26.x, in-process
 * through chDB). The integration tests run the same on the 18.16 server: together they prove the SQL
 * on both ends of the range users run.
 */
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  prequentialScores,
  SCORE_GROUPINGS,
} from '../../../../../../lib/platform/clickhouse/queries/quality.ts';
import { loadMigrations, migrate } from '../../../../../../lib/platform/clickhouse/migrate.ts';
import { quoteString, sql } from '../../../../../../lib/platform/clickhouse/sql.ts';
import {
  analyticsSeed,
  expectedScores,
  HOSTILE_STRINGS,
  rewrittenPrediction,
} from '../../../../../support/analytics-seed.ts';
import {
  currentAliasesSql,
  latestModel,
  modelOfAlias,
} from '../../../../../../lib/platform/clickhouse/queries/models.ts';
import { tableCounts } from '../../../../../../lib/platform/clickhouse/queries/pipeline.ts';
import {
  driftDump,
  incidents,
  stationWeeksSql,
  weeklyPerformance,
} from '../../../../../../lib/platform/clickhouse/queries/drift.ts';
import {
  calibrationRow,
  driftRow,
  incidentRow,
  performanceRow,
  stationRow,
} from '../../../../../../consumers/drift/rows.ts';
import type { Incident, PerformanceRow } from '../../../../../../consumers/drift/step.ts';
import { chdbRunner } from '../../../../../support/chdb.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../../../schemas/clickhouse/', import.meta.url));

let session: Session;
let ch: ReturnType<typeof chdbRunner>;

beforeAll(() => {
  session = new Session();
  session.query('CREATE DATABASE IF NOT EXISTS rs_test');
  session.query('USE rs_test');
  ch = chdbRunner(session);
});

afterAll(() => session.close());

async function schemaSnapshot(): Promise<unknown[]> {
  return ch.rows(
    `SELECT table, name, type, position FROM system.columns WHERE database = 'rs_test' ORDER BY table, position`,
  );
}

describe('migrations on ClickHouse 26.x (chDB)', () => {
  it('apply all, and a second run changes nothing', async () => {
    const [{ v }] = await ch.rows<{ v: string }>('SELECT version() AS v');
    expect(Number(v.split('.')[0])).toBeGreaterThanOrEqual(26);
    const migrations = await loadMigrations(MIGRATIONS_DIR);
    const first = await migrate(ch, migrations);
    expect(first.applied).toEqual(migrations.map((m) => m.version));
    const before = await schemaSnapshot();
    const second = await migrate(ch, migrations);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(migrations.map((m) => m.version));
    expect(await schemaSnapshot()).toEqual(before);
    const [{ n }] = await ch.rows<{ n: string }>('SELECT count() AS n FROM schema_migrations');
    expect(Number(n)).toBe(migrations.length);
    const tables = (
      await ch.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = 'rs_test'`)
    ).map((r) => r.name);
    for (const t of [
      'predictions',
      'actuals',
      'labeled_examples',
      'drift',
      'drift_stations',
      'drift_performance',
      'drift_calibration',
      'drift_incidents',
      'models',
      'model_aliases',
      'training_runs',
    ]) {
      expect(tables).toContain(t);
    }
  });

  it('refuses a migration that changed after it was applied', async () => {
    const migrations = await loadMigrations(MIGRATIONS_DIR);
    const tampered = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'f'.repeat(64) } : m));
    await expect(migrate(ch, tampered)).rejects.toMatchObject({ code: 'MIGRATION_CHECKSUM' });
  });
});

describe('analytics on ClickHouse 26.x (chDB)', () => {
  const { predictions, actuals } = analyticsSeed();
  const rewritten = rewrittenPrediction(predictions[5]);

  beforeAll(async () => {
    await ch.insertJson('predictions', predictions);
    await ch.insertJson('predictions', [rewritten]);
    await ch.insertJson('actuals', actuals);
    await ch.insertJson('models', [
      model('m-001', Date.UTC(2016, 10, 1) / 1000),
      model('m-002', Date.UTC(2016, 11, 31) / 1000),
    ]);
    await ch.insertJson('model_aliases', [
      alias('champion', 'm-001', '', 1),
      alias('champion', 'm-002', 'm-001', 2),
      alias('challenger', 'm-002', '', 1),
    ]);
  });

  it('collapses the re-written prediction with FINAL', async () => {
    const rows = await ch.rows<{ probability: number; n: string }>(
      sql`SELECT any(probability) AS probability, count() AS n FROM predictions FINAL WHERE location = ${rewritten.location} AND date = toDate(${rewritten.date})`,
    );
    expect(rows).toEqual([{ probability: rewritten.probability, n: expect.anything() }]);
    expect(Number(rows[0].n)).toBe(1);
  });

  for (const grouping of SCORE_GROUPINGS) {
    it(`scores per ${grouping} match the TypeScript computation`, async () => {
      const expected = expectedScores([...predictions, rewritten], actuals, grouping);
      const scores = await prequentialScores(ch, grouping);
      expect(scores.map((s) => s.bucket)).toEqual(expected.map((e) => e.bucket));
      scores.forEach((s, i) => {
        const e = expected[i];
        expect(s.n).toBe(e.n);
        expect(s.positives).toBe(e.positives);
        expect(s.brier).toBeCloseTo(e.brier, 10);
        expect(s.accuracy).toBeCloseTo(e.accuracy, 10);
        expect(s.auc).toBeCloseTo(e.auc, 10);
      });
    });
  }

  it('filters by location (escaped) and by dates', async () => {
    const scores = await prequentialScores(ch, 'overall', {
      location: `O'Connor`,
      from: '2016-12-01',
      to: '2016-12-31',
    });
    const expected = expectedScores(
      [...predictions, rewritten].filter((p) => p.location === `O'Connor` && p.date.startsWith('2016-12')),
      actuals,
      'overall',
    );
    expect(scores.map((s) => s.n)).toEqual(expected.map((e) => e.n));
  });

  it('counts rows per table after de-duplication', async () => {
    const counts = await tableCounts(ch);
    expect(counts.predictions).toBe(predictions.length);
    expect(counts.actuals).toBe(actuals.length);
    expect(counts.models).toBe(2);
    expect(counts.model_aliases).toBe(3);
    expect(counts.drift).toBe(0);
  });

  it('finds the current aliases, the latest model and the champion', async () => {
    const aliases = await ch.rows<{ alias: string; version: string; previous_version: string }>(
      currentAliasesSql(),
    );
    expect(aliases.map((a) => [a.alias, a.version, a.previous_version])).toEqual([
      ['challenger', 'm-002', ''],
      ['champion', 'm-002', 'm-001'],
    ]);
    expect((await latestModel(ch))?.version).toBe('m-002');
    const champion = await modelOfAlias(ch, 'champion');
    expect(champion).toMatchObject({ version: 'm-002', rows: 1000, trainStart: '2016-11-01' });
    expect(await modelOfAlias(ch, `no'such`)).toBeNull();
  });
});

describe('drift tables and queries on ClickHouse 26.x (chDB)', () => {
  const incident = (status: 'open' | 'resolved', week: string): Incident => ({
    id: `shift:O'Connor:pressure3pm:2016-02-01`,
    station: `O'Connor`,
    feature: 'pressure3pm',
    kind: 'shift',
    status,
    openedWeek: '2016-02-01',
    lastBreachWeek: '2016-02-08',
    resolvedWeek: status === 'resolved' ? week : null,
    clearWeeks: 0,
    weeksBreached: 2,
    modelVersion: 'm-002',
    statistic: 'residual_z',
    value: 9.5,
    peak: 11,
    threshold: 7.4,
    importance: 0.09,
    rank: 4,
    pendingBreachWeek: null,
  });
  const perf = (basis: 'estimated' | 'realized', accuracy: number): PerformanceRow => ({
    week: '2016-02-08',
    modelVersion: 'm-002',
    station: '*',
    basis,
    n: 340,
    accuracy,
    brier: 0.1,
    expectedAccuracy: basis === 'realized' ? 0.85 : null,
    referenceAccuracy: 0.86,
    referenceBrier: 0.1,
    ece: basis === 'realized' ? 0.02 : null,
    rmse: null,
    mae: null,
    referenceRmse: null,
  });

  beforeAll(async () => {
    // Rows exactly as the drift shell writes them; the incident written three times (the last wins by ver),
    // the estimate written twice (a week closed again).
    await ch.insertJson('drift_incidents', [
      incidentRow('rain', incident('open', '2016-02-01'), '2016-02-01'),
      incidentRow('rain', incident('resolved', '2016-02-22'), '2016-02-22'),
      incidentRow('rain', incident('open', '2016-02-08'), '2016-02-08'),
    ]);
    await ch.insertJson('drift_performance', [
      performanceRow('rain', perf('estimated', 0.84), 1_455_000_000_000, 1),
      performanceRow('rain', perf('estimated', 0.84), 1_455_000_000_000, 2),
      performanceRow('rain', perf('realized', 0.82), 1_455_000_000_000, 1),
      performanceRow('rain', { ...perf('estimated', 0.9), week: '2016-02-15' }, 1_455_000_000_000, 1),
    ]);
    await ch.insertJson('drift', [
      driftRow(
        'rain',
        {
          week: '2016-02-08',
          modelVersion: 'm-002',
          station: '*',
          kind: 'prediction',
          name: 'probability',
          statistic: 'psi',
          value: 0.04,
          threshold: 0.2,
          alert: false,
          n: 340,
        },
        1_455_000_000_000,
        1,
      )!,
    ]);
    await ch.insertJson('drift_stations', [
      stationRow(
        'rain',
        {
          week: '2016-02-08',
          modelVersion: 'm-002',
          station: `O'Connor`,
          feature: 'pressure3pm',
          rank: 4,
          importance: 0.09,
          rows: 7,
          valued: 7,
          missingShare: 0,
          missingThreshold: 0.85,
          anomaly: 8.1,
          residualZ: 9.5,
          shiftThreshold: 7.4,
          residualZ2: null,
          shiftThreshold2: 5.9,
          spreadLogRatio: -0.1,
          stuckThreshold: null,
          missingBreach: false,
          shiftBreach: true,
          stuckBreach: false,
        },
        1_455_000_000_000,
        1,
      ),
    ]);
    await ch.insertJson('drift_calibration', [
      calibrationRow(
        'rain',
        { week: '2016-02-08', modelVersion: 'm-002', bin: 3, n: 40, meanP: 0.35, meanY: 0.3 },
        0,
        1,
      ),
    ]);
  });

  it('reads an incident at its latest state, filtered by an escaped station', async () => {
    const found = await incidents(ch, { station: `O'Connor` });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      status: 'resolved',
      resolvedWeek: '2016-02-22',
      weeksBreached: 2,
      rank: 4,
    });
    expect(await incidents(ch, { status: 'open' })).toEqual([]);
  });

  it('puts the realized figures beside the estimate, null where labels have not arrived', async () => {
    const weeks = await weeklyPerformance(ch);
    expect(weeks.map((w) => [w.week, w.estimatedAccuracy, w.realizedAccuracy, w.n, w.nLabeled])).toEqual([
      ['2016-02-08', 0.84, 0.82, 340, 340],
      ['2016-02-15', 0.9, null, 340, 0],
    ]);
  });

  it("keeps each task's drift apart: max_temp's realized RMSE and incident beside rain's, never in its reads", async () => {
    await ch.insertJson('drift_performance', [
      performanceRow(
        'max_temp',
        {
          ...perf('realized', 0),
          modelVersion: 'max_temp.m-003',
          accuracy: null,
          brier: null,
          expectedAccuracy: null,
          referenceAccuracy: null,
          referenceBrier: null,
          ece: null,
          rmse: 2.5,
          mae: 1.9,
          referenceRmse: 2.1,
        },
        1_455_000_000_000,
        1,
      ),
    ]);
    await ch.insertJson('drift_incidents', [
      incidentRow('max_temp', { ...incident('open', '2016-02-08'), id: 'max_temp:shift:x' }, '2016-02-08'),
    ]);
    const weeks = await weeklyPerformance(ch, { task: 'max_temp' });
    expect(weeks).toEqual([
      expect.objectContaining({
        week: '2016-02-08',
        modelVersion: 'max_temp.m-003',
        nLabeled: 340,
        realizedAccuracy: null,
        estimatedAccuracy: null,
        realizedRmse: 2.5,
        realizedMae: 1.9,
        referenceRmse: 2.1,
      }),
    ]);
    expect((await weeklyPerformance(ch)).map((w) => w.modelVersion)).not.toContain('max_temp.m-003');
    expect((await incidents(ch, { task: 'max_temp' })).map((i) => i.incidentId)).toEqual([
      'max_temp:shift:x',
    ]);
    expect(await incidents(ch, { status: 'open' })).toEqual([]);
    await ch.command(`ALTER TABLE drift_performance DELETE WHERE task = 'max_temp'`);
    await ch.command(`ALTER TABLE drift_incidents DELETE WHERE task = 'max_temp'`);
  });

  it("dumps every drift table canonically, and reads a station's weeks", async () => {
    expect(await driftDump(ch, 'drift')).toHaveLength(1);
    expect(await driftDump(ch, 'drift_calibration')).toHaveLength(1);
    expect(await driftDump(ch, 'drift_performance')).toHaveLength(3);
    const rows = await ch.rows<{ residual_z: number; residual_z2: number | null }>(
      stationWeeksSql(`O'Connor`, 'pressure3pm'),
    );
    expect(rows).toEqual([expect.objectContaining({ residual_z: 9.5, residual_z2: null })]);
  });
});

describe('escaping on ClickHouse 26.x (chDB)', () => {
  it('stores and reads back hostile strings unchanged, and finds them by literal', async () => {
    await ch.command('CREATE TABLE IF NOT EXISTS hostile (i UInt32, s String) ENGINE = MergeTree ORDER BY i');
    const values = HOSTILE_STRINGS.map((s, i) => `(${i}, ${quoteString(s)})`).join(', ');
    await ch.command(`INSERT INTO hostile (i, s) VALUES ${values}`);
    const rows = await ch.rows<{ i: number; s: string }>('SELECT i, s FROM hostile ORDER BY i');
    expect(rows.map((r) => r.s)).toEqual(HOSTILE_STRINGS);
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      const found = await ch.rows<{ i: number }>(sql`SELECT i FROM hostile WHERE s = ${s}`);
      expect(found.map((r) => Number(r.i))).toEqual([i]);
    }
  });
});

function model(version: string, trainedAt: number) {
  return {
    version,
    family: 'gbdt',
    task: 'classification',
    params: '{"depth":4}',
    metrics: '{"auc":0.87}',
    feature_set_version: 'fs-1',
    train_start: '2016-11-01',
    train_end: '2016-12-31',
    rows: 1000,
    positives: 220,
    code_version: 'abc123',
    artifact: '{"format":"rainstream.model"}',
    reference: '{}',
    status: 'trained',
    trained_at: trainedAt,
    train_seconds: 1.5,
    peak_rss_mb: 120.5,
    ver: 1,
  };
}

function alias(name: string, version: string, previous: string, ver: number) {
  return {
    alias: name,
    version,
    previous_version: previous,
    reason: 'test',
    changed_at: 1_480_000_000 + ver,
    ver,
  };
}
