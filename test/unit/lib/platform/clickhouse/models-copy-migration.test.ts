/**
 * Migration 036 copies the model registry into a table with fine index granules. A copy is not one
 * statement: the migrator may die after any of them and run the whole migration again at the next start.
 * Proven on chDB for every crash point: the registry ends with every model, once, in the new table.
 */
import { describe, expect, it } from 'vitest';
import { migrationSandbox, type ChdbRunner } from '../../../../support/chdb.ts';

const COPY_VERSION = 36;

const sandbox = migrationSandbox();

function modelRow(version: string, status: string, ver: number): Record<string, unknown> {
  return {
    version,
    family: 'gbdt',
    task: 'classification',
    params: '{}',
    metrics: '{}',
    feature_set_version: 'fs1',
    train_start: '2009-01-05',
    train_end: '2010-01-03',
    rows: 1000,
    positives: 200,
    code_version: 'test',
    artifact: `artifact of ${version}`,
    reference: 'null',
    status,
    trained_at: '2026-12-01 00:00:00',
    train_seconds: 0.5,
    peak_rss_mb: 100,
    ver,
  };
}

/** The rows the store held before the migration. */
async function registryBeforeCopy(ch: ChdbRunner): Promise<void> {
  await ch.insertJson('models', [
    modelRow('gbdt-a', 'candidate', 1),
    modelRow('gbdt-a', 'promoted', 2),
    modelRow('gbdt-b', 'candidate', 3),
  ]);
}

describe('migration 036 (the registry copied into fine granules)', () => {
  it('keeps every model once, whichever statement a crash interrupted', async () => {
    const copy = sandbox.migration(COPY_VERSION);
    expect(copy.name).toBe('models_fine_granules');
    await sandbox.forEveryCrashPoint(
      copy,
      'copy_crash',
      registryBeforeCopy,
      async (ch, { where, database }) => {
        const models = await ch.rows<{ version: string; status: string; artifact: string }>(
          'SELECT version, status, artifact FROM models FINAL ORDER BY version',
        );
        expect(models, where).toEqual([
          { version: 'gbdt-a', status: 'promoted', artifact: 'artifact of gbdt-a' },
          { version: 'gbdt-b', status: 'candidate', artifact: 'artifact of gbdt-b' },
        ]);
        const tables = await ch.rows<{ name: string; engine_full: string }>(
          `SELECT name, engine_full FROM system.tables WHERE database = '${database}' AND name LIKE 'models%' ORDER BY name`,
        );
        expect(tables.map((t) => t.name)).toEqual(['models']);
        expect(tables[0]!.engine_full).toMatch(/index_granularity = 8\b/);
      },
    );
    // One chDB session per crash point: seconds on a loaded machine, not the default 5.
  }, 60_000);
});
