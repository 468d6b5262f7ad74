/**
 * Migration 037 copies predictions, actuals, labeled_examples and training_runs into tables that carry the
 * task (first in the key of the station-day tables). Proven on chDB for every crash point, as 036: each
 * table ends with every row once, as rain's, and a max_temp row of the same station-day beside it.
 */
import { describe, expect, it } from 'vitest';
import { migrationSandbox, type ChdbRunner } from '../../../../support/chdb.ts';

const VERSION = 37;

const sandbox = migrationSandbox();

/** The rows the store held before the migration. */
async function storeBefore(ch: ChdbRunner): Promise<void> {
  const prediction = (date: string, ver: number) => ({
    location: 'Sydney',
    date,
    probability: 0.3,
    decision: 0,
    threshold: 0.5,
    model_version: 'prior-climatology',
    feature_set_version: 'fs1',
    ingested_at: '2026-12-01 00:00:00',
    predicted_at: '2026-12-01 00:00:00',
    lag_ms: 5,
    ver,
  });
  await ch.insertJson('predictions', [
    prediction('2009-01-01', 1),
    prediction('2009-01-01', 2),
    prediction('2009-01-02', 3),
  ]);
  await ch.insertJson('actuals', [
    {
      location: 'Sydney',
      date: '2009-01-01',
      status: 'joined',
      rain_tomorrow: 1,
      rainfall_tomorrow_mm: 3,
      joined_at: '2026-12-01 00:00:00',
      ver: 1,
    },
  ]);
  await ch.insertJson('labeled_examples', [
    {
      location: 'Sydney',
      date: '2009-01-01',
      feature_set_version: 'fs1',
      features: [1, 2],
      label: 1,
      rainfall_next: 3,
      probability: 0.3,
      model_version: 'prior-climatology',
      ver: 1,
    },
  ]);
  await ch.insertJson('training_runs', [
    {
      run_id: 'week-2009-01-05',
      week: '2009-01-05',
      data_until: '2009-01-04',
      rows: 10,
      candidates: '[]',
      winner: '',
      promoted: 0,
      reasons: '[]',
      staleness_days: -1,
      coalesced_weeks: 1,
      started_at: '2026-12-01 00:00:00',
      finished_at: '2026-12-01 00:00:01',
      ver: 1,
      seconds: 0.5,
    },
  ]);
}

describe('migration 037 (task in the keys)', () => {
  it('keeps every row once as rain, whichever statement a crash interrupted', async () => {
    const copy = sandbox.migration(VERSION);
    expect(copy.name).toBe('task_keys');
    await sandbox.forEveryCrashPoint(copy, 'tasks_crash', storeBefore, async (ch, { where, database }) => {
      expect(
        await ch.rows(
          'SELECT task, location, toString(date) AS date, ver FROM predictions FINAL ORDER BY date',
        ),
        where,
      ).toEqual([
        { task: 'rain', location: 'Sydney', date: '2009-01-01', ver: 2 },
        { task: 'rain', location: 'Sydney', date: '2009-01-02', ver: 3 },
      ]);
      expect(await ch.rows('SELECT task, status, actual_value FROM actuals FINAL'), where).toEqual([
        { task: 'rain', status: 'joined', actual_value: null },
      ]);
      expect(await ch.rows('SELECT task, label, target FROM labeled_examples FINAL'), where).toEqual([
        { task: 'rain', label: 1, target: null },
      ]);
      expect(await ch.rows('SELECT task, run_id, seconds FROM training_runs FINAL'), where).toEqual([
        { task: 'rain', run_id: 'week-2009-01-05', seconds: 0.5 },
      ]);
      // A max_temp row of the same station-day is a row of its own.
      await ch.insertJson('predictions', [
        {
          task: 'max_temp',
          location: 'Sydney',
          date: '2009-01-01',
          probability: 0,
          value: 27.5,
          decision: 0,
          threshold: 0,
          model_version: 'prior-persistence',
          feature_set_version: 'fs1',
          ingested_at: '2026-12-01 00:00:00',
          predicted_at: '2026-12-01 00:00:00',
          lag_ms: 5,
          ver: 9,
        },
      ]);
      expect(
        await ch.rows(`SELECT task, value FROM predictions FINAL WHERE date = '2009-01-01' ORDER BY task`),
        where,
      ).toEqual([
        { task: 'max_temp', value: 27.5 },
        { task: 'rain', value: null },
      ]);
      const tables = await ch.rows<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = '${database}' AND (name LIKE '%037%') ORDER BY name`,
      );
      expect(tables, where).toEqual([]);
    });
    // Every crash point replays all earlier migrations into a fresh database: seconds, not milliseconds.
  }, 120_000);
});
