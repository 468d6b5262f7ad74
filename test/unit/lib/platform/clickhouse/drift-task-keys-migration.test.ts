/**
 * Migration 038 copies the five drift tables into tables keyed by task first (drift per task's champion)
 * and gives drift_performance a regression week's columns. Proven on chDB for every crash point, as 037:
 * each table ends with every row once, as rain's, and a max_temp row of the same key beside it.
 */
import { describe, expect, it } from 'vitest';
import { migrationSandbox, type ChdbRunner } from '../../../../support/chdb.ts';

const VERSION = 38;

const sandbox = migrationSandbox();

const common = { week: '2016-02-08', model_version: 'm-1', computed_at: '2026-12-01 00:00:00' };

/** The rows the store held before the migration. */
async function storeBefore(ch: ChdbRunner): Promise<void> {
  const drift = (ver: number) => ({
    ...common,
    station: '*',
    kind: 'shift',
    name: 'pressure3pm',
    statistic: 'mean_z',
    value: ver,
    threshold: 3,
    alert: 0,
    n: 300,
    ver,
  });
  await ch.insertJson('drift', [drift(1), drift(2)]);
  await ch.insertJson('drift_stations', [
    {
      ...common,
      station: 'Albury',
      feature: 'pressure3pm',
      rank: 1,
      importance: 0.2,
      rows: 7,
      valued: 7,
      missing_share: 0,
      missing_breach: 0,
      shift_breach: 0,
      stuck_breach: 0,
      ver: 1,
    },
  ]);
  await ch.insertJson('drift_performance', [
    { ...common, station: '*', basis: 'realized', n: 300, accuracy: 0.85, brier: 0.1, ver: 1 },
  ]);
  await ch.insertJson('drift_calibration', [{ ...common, bin: 3, n: 40, mean_p: 0.35, mean_y: 0.3, ver: 1 }]);
  await ch.insertJson('drift_incidents', [
    {
      incident_id: 'shift:Albury:pressure3pm:2016-02-08',
      station: 'Albury',
      feature: 'pressure3pm',
      kind: 'shift',
      status: 'open',
      opened_week: '2016-02-08',
      last_breach_week: '2016-02-08',
      resolved_week: null,
      weeks_breached: 1,
      model_version: 'm-1',
      statistic: 'residual_z',
      value: 9,
      peak: 9,
      threshold: 7,
      importance: 0.2,
      rank: 1,
      updated_week: '2016-02-08',
      ver: 1,
    },
  ]);
}

describe('migration 038 (task in the drift keys)', () => {
  it('keeps every row once as rain, whichever statement a crash interrupted', async () => {
    const copy = sandbox.migration(VERSION);
    expect(copy.name).toBe('drift_task_keys');
    await sandbox.forEveryCrashPoint(
      copy,
      'drift_tasks_crash',
      storeBefore,
      async (ch, { where, database }) => {
        expect(await ch.rows('SELECT task, value, ver FROM drift FINAL'), where).toEqual([
          { task: 'rain', value: 2, ver: 2 },
        ]);
        for (const table of ['drift_stations', 'drift_calibration', 'drift_incidents']) {
          expect(await ch.rows(`SELECT task FROM ${table} FINAL`), `${table}, ${where}`).toEqual([
            { task: 'rain' },
          ]);
        }
        expect(
          await ch.rows('SELECT task, accuracy, rmse, mae, reference_rmse FROM drift_performance FINAL'),
          where,
        ).toEqual([{ task: 'rain', accuracy: 0.85, rmse: null, mae: null, reference_rmse: null }]);
        // A max_temp week of the same key is a row of its own, with no accuracy.
        await ch.insertJson('drift_performance', [
          {
            ...common,
            task: 'max_temp',
            station: '*',
            basis: 'realized',
            n: 300,
            accuracy: null,
            brier: null,
            rmse: 2.5,
            mae: 1.9,
            reference_rmse: 2.1,
            ver: 9,
          },
        ]);
        expect(
          await ch.rows('SELECT task, accuracy, rmse FROM drift_performance FINAL ORDER BY task'),
          where,
        ).toEqual([
          { task: 'max_temp', accuracy: null, rmse: 2.5 },
          { task: 'rain', accuracy: 0.85, rmse: null },
        ]);
        const tables = await ch.rows<{ name: string }>(
          `SELECT name FROM system.tables WHERE database = '${database}' AND (name LIKE '%038%') ORDER BY name`,
        );
        expect(tables, where).toEqual([]);
      },
    );
    // Every crash point replays all earlier migrations into a fresh database: seconds, not milliseconds.
  }, 180_000);
});
