import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prequentialScores, SCORE_GROUPINGS } from '../../../../lib/platform/clickhouse/queries/quality.ts';
import { createClickHouse } from '../../../../lib/platform/clickhouse/client.ts';
import { loadMigrations, migrate, migrateDatabase } from '../../../../lib/platform/clickhouse/migrate.ts';
import { quoteString, sql, toDateTime } from '../../../../lib/platform/clickhouse/sql.ts';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import {
  analyticsSeed,
  expectedScores,
  HOSTILE_STRINGS,
  rewrittenPrediction,
} from '../../../support/analytics-seed.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';
import {
  currentAliasesSql,
  latestModel,
  modelOfAlias,
} from '../../../../lib/platform/clickhouse/queries/models.ts';
import { tableCounts } from '../../../../lib/platform/clickhouse/queries/pipeline.ts';
import { MIGRATIONS_DIR } from '../../../../lib/deployment/setup.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await testContext('clickhouse');
});

afterAll(async () => ctx?.cleanup());

async function schemaSnapshot(): Promise<unknown[]> {
  return ctx.clickhouse.rows(
    sql`SELECT table, name, type FROM system.columns WHERE database = ${ctx.config.clickhouse.database} ORDER BY table, name`,
  );
}

describe('migrations on the ClickHouse server', () => {
  it('were applied by the context, and applying them twice more changes nothing', async () => {
    const migrations = await loadMigrations(MIGRATIONS_DIR);
    const before = await schemaSnapshot();
    expect(before.length).toBeGreaterThan(50);
    for (let k = 0; k < 2; k++) {
      const report = await migrateDatabase(ctx.config.clickhouse, MIGRATIONS_DIR);
      expect(report.applied).toEqual([]);
      expect(report.alreadyApplied).toEqual(migrations.map((m) => m.version));
    }
    expect(await schemaSnapshot()).toEqual(before);
    const [{ n }] = await ctx.clickhouse.rows<{ n: string }>('SELECT count() AS n FROM schema_migrations');
    expect(Number(n)).toBe(migrations.length);
  });

  it('refuses a migration changed after it was applied', async () => {
    const migrations = await loadMigrations(MIGRATIONS_DIR);
    const tampered = migrations.map((m) => (m.version === 1 ? { ...m, checksum: '0'.repeat(64) } : m));
    await expect(migrate(ctx.clickhouse, tampered)).rejects.toMatchObject({ code: 'MIGRATION_CHECKSUM' });
  });
});

describe('insert and select', () => {
  it('round-trips rows of every column type, and FINAL collapses a re-write to the latest ver', async () => {
    const row = {
      location: 'Albury',
      date: '2017-06-24',
      feature_set_version: 'fs-1',
      features: [1.5, -2, 0.25],
      label: 1,
      rainfall_next: null,
      probability: 0.73,
      model_version: 'm-1',
      ver: 1,
    };
    await ctx.clickhouse.insertRows('labeled_examples', [row]);
    await ctx.clickhouse.insertRows('labeled_examples', [
      { ...row, probability: 0.41, rainfall_next: 3.2, ver: 2 },
    ]);
    const all = await ctx.clickhouse.rows('SELECT * FROM labeled_examples ORDER BY ver');
    expect(all).toHaveLength(2);
    const final = await ctx.clickhouse.rows<Record<string, unknown>>('SELECT * FROM labeled_examples FINAL');
    expect(final).toHaveLength(1);
    expect(final[0]).toMatchObject({
      location: 'Albury',
      date: '2017-06-24',
      features: [1.5, -2, 0.25],
      label: 1,
      rainfall_next: 3.2,
      probability: 0.41,
    });
    expect(Number(final[0].ver)).toBe(2);
  });

  it('takes DateTime as epoch seconds and gives it back in UTC', async () => {
    const at = Date.UTC(2017, 5, 24, 13, 45, 7);
    await ctx.clickhouse.insertRows('dlq_events', [
      {
        source_topic: 't',
        source_partition: 1,
        source_offset: 42,
        reason: 'DECODE: x',
        field: '',
        raw: '',
        at: toDateTime(at),
      },
    ]);
    const [row] = await ctx.clickhouse.rows<{ at: string; ts: string }>(
      'SELECT at, toUnixTimestamp(at) AS ts FROM dlq_events',
    );
    expect(row.at).toBe('2017-06-24 13:45:07');
    expect(Number(row.ts)).toBe(at / 1000);
  });

  it('inserts in 10k-row chunks', async () => {
    const rows = Array.from({ length: 25_001 }, (_, i) => ({
      location: `L${i % 49}`,
      date: new Date(Date.UTC(2008, 0, 1) + Math.floor(i / 49) * 86_400_000).toISOString().slice(0, 10),
      status: 'joined',
      rain_tomorrow: i % 4 === 0 ? 1 : 0,
      rainfall_tomorrow_mm: i % 4 === 0 ? 5 : 0,
      joined_at: 1_500_000_000,
      ver: 1,
    }));
    const started = performance.now();
    expect(await ctx.clickhouse.insertRows('actuals', rows)).toBe(25_001);
    const ms = performance.now() - started;
    const [{ n }] = await ctx.clickhouse.rows<{ n: string }>('SELECT count() AS n FROM actuals FINAL');
    expect(Number(n)).toBe(25_001);
    console.log(`insertRows: 25,001 rows in ${ms.toFixed(0)} ms`);
    await ctx.clickhouse.command('TRUNCATE TABLE actuals');
  });

  it('maps bad SQL to a non-retriable error and an absent server to a retriable one', async () => {
    const bad = await ctx.clickhouse.rows('SELEC nothing').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RainstreamError);
    expect(bad).toMatchObject({ code: 'CLICKHOUSE_QUERY', retriable: false });
    const offline = createClickHouse({ ...ctx.config.clickhouse, url: 'http://127.0.0.1:9' });
    try {
      const down = await offline.rows('SELECT 1').catch((e: unknown) => e);
      expect(down).toMatchObject({ code: 'CLICKHOUSE', retriable: true });
    } finally {
      await offline.close();
    }
  });
});

describe('escaping against the real server', () => {
  it('stores hostile strings through literals and through JSONEachRow, and reads them back equal', async () => {
    await ctx.clickhouse.command(
      'CREATE TABLE IF NOT EXISTS hostile (i UInt32, via String, s String) ENGINE = MergeTree ORDER BY (via, i)',
    );
    const values = HOSTILE_STRINGS.map((s, i) => `(${i}, 'literal', ${quoteString(s)})`).join(', ');
    await ctx.clickhouse.command(`INSERT INTO hostile (i, via, s) VALUES ${values}`);
    await ctx.clickhouse.insertRows(
      'hostile',
      HOSTILE_STRINGS.map((s, i) => ({ i, via: 'json', s })),
    );
    for (const via of ['literal', 'json']) {
      const rows = await ctx.clickhouse.rows<{ s: string }>(
        sql`SELECT s FROM hostile WHERE via = ${via} ORDER BY i`,
      );
      expect(rows.map((r) => r.s)).toEqual(HOSTILE_STRINGS);
    }
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      const found = await ctx.clickhouse.rows<{ i: number }>(
        sql`SELECT i FROM hostile WHERE s = ${s} ORDER BY via`,
      );
      expect(found.map((r) => Number(r.i))).toEqual([i, i]);
    }
  });
});

describe('analytics on the ClickHouse server', () => {
  const { predictions, actuals } = analyticsSeed();
  const rewritten = rewrittenPrediction(predictions[5]);

  beforeAll(async () => {
    await ctx.clickhouse.command('TRUNCATE TABLE actuals');
    await ctx.clickhouse.insertRows('predictions', predictions);
    await ctx.clickhouse.insertRows('predictions', [rewritten]);
    await ctx.clickhouse.insertRows('actuals', actuals);
    await ctx.clickhouse.insertRows('models', [model('m-001', 1_478_000_000), model('m-002', 1_483_000_000)]);
    await ctx.clickhouse.insertRows('model_aliases', [
      {
        alias: 'champion',
        version: 'm-001',
        previous_version: '',
        reason: 'first',
        changed_at: 1_478_000_100,
        ver: 1,
      },
      {
        alias: 'champion',
        version: 'm-002',
        previous_version: 'm-001',
        reason: 'better',
        changed_at: 1_483_000_100,
        ver: 2,
      },
    ]);
  });

  for (const grouping of SCORE_GROUPINGS) {
    it(`scores per ${grouping} match the TypeScript computation`, async () => {
      const expected = expectedScores([...predictions, rewritten], actuals, grouping);
      const scores = await prequentialScores(ctx.clickhouse, grouping);
      expect(scores.map((s) => s.bucket)).toEqual(expected.map((e) => e.bucket));
      scores.forEach((s, i) => {
        expect(s.n).toBe(expected[i].n);
        expect(s.positives).toBe(expected[i].positives);
        expect(s.brier).toBeCloseTo(expected[i].brier, 10);
        expect(s.accuracy).toBeCloseTo(expected[i].accuracy, 10);
        expect(s.auc).toBeCloseTo(expected[i].auc, 10);
      });
    });
  }

  it('filters by an escaped location and dates', async () => {
    const scores = await prequentialScores(ctx.clickhouse, 'overall', {
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

  it('counts tables, finds aliases, the latest model and the champion', async () => {
    const counts = await tableCounts(ctx.clickhouse);
    expect(counts).toMatchObject({
      predictions: predictions.length,
      actuals: actuals.length,
      models: 2,
      model_aliases: 2,
    });
    const aliases = await ctx.clickhouse.rows<{ alias: string; version: string }>(currentAliasesSql());
    expect(aliases.map((a) => [a.alias, a.version])).toEqual([['champion', 'm-002']]);
    expect((await latestModel(ctx.clickhouse))?.version).toBe('m-002');
    expect(await modelOfAlias(ctx.clickhouse, 'champion')).toMatchObject({ version: 'm-002', rows: 1000 });
    expect(await modelOfAlias(ctx.clickhouse, 'challenger')).toBeNull();
  });
});

function model(version: string, trainedAt: number) {
  return {
    version,
    family: 'gbdt',
    task: 'classification',
    params: '{}',
    metrics: '{}',
    feature_set_version: 'fs-1',
    train_start: '2016-11-01',
    train_end: '2016-12-31',
    rows: 1000,
    positives: 220,
    code_version: 'abc',
    artifact: '{}',
    reference: '{}',
    status: 'trained',
    trained_at: trainedAt,
    train_seconds: 1,
    peak_rss_mb: 100,
    ver: 1,
  };
}
