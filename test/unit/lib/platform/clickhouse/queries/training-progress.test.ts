/**
 * What the replay's training gate reads (trainingProgress) with several tasks, on current ClickHouse
 * (chDB): the task furthest behind decides, so a gated replay waits for every task's weekly run.
 */
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../../../../lib/platform/clickhouse/migrate.ts';
import {
  lastTrainedWeek,
  trainingProgress,
  trainingRuns,
} from '../../../../../../lib/platform/clickhouse/queries/training.ts';
import { addDays } from '../../../../../../lib/domain/time.ts';
import { chdbRunner } from '../../../../../support/chdb.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../../../schemas/clickhouse/', import.meta.url));

let session: Session;
let ch: ReturnType<typeof chdbRunner>;

const run = (task: string, week: string) => ({
  task,
  run_id: task === 'rain' ? `week-${week}` : `${task}:week-${week}`,
  week,
  data_until: addDays(week, -1),
  rows: 100,
  candidates: '[]',
  winner: '',
  promoted: 0,
  reasons: '[]',
  staleness_days: -1,
  coalesced_weeks: 1,
  started_at: '2026-12-01 00:00:00',
  finished_at: '2026-12-01 00:00:01',
  ver: 1,
  requested_by: 'schedule',
  command_id: '',
  request_reason: '',
  seconds: task === 'rain' ? 0.5 : 0.6,
});

const labeled = (task: string, date: string) => ({
  task,
  location: 'Darwin',
  date,
  feature_set_version: 'fs1',
  features: [1],
  label: 0,
  target: task === 'rain' ? null : 30,
  value: null,
  rainfall_next: null,
  probability: 0,
  model_version: 'm',
  ver: 1,
});

beforeAll(async () => {
  session = new Session();
  session.query('CREATE DATABASE IF NOT EXISTS rs_progress');
  session.query('USE rs_progress');
  ch = chdbRunner(session);
  await migrate(ch, await loadMigrations(MIGRATIONS_DIR));
  await ch.insertJson('predictions', [
    {
      task: 'rain',
      location: 'Darwin',
      date: '2010-01-20',
      probability: 0.2,
      decision: 0,
      threshold: 0.5,
      model_version: 'm',
      feature_set_version: 'fs1',
      ingested_at: '2026-12-01 00:00:00',
      predicted_at: '2026-12-01 00:00:00',
      lag_ms: 1,
      ver: 1,
    },
  ]);
  // Rain's labels close the week of 2010-01-11 (a label dated 2 days into a later week closes one);
  // max_temp's, a week shorter, only that of 2010-01-04.
  const days = (n: number) => Array.from({ length: n }, (_, i) => addDays('2010-01-06', i));
  await ch.insertJson('labeled_examples', [
    ...days(21).map((d) => labeled('rain', d)),
    ...days(14).map((d) => labeled('max_temp', d)),
  ]);
  // Rain has trained the weeks up to 2010-01-18; max_temp one week less.
  await ch.insertJson('training_runs', [
    run('rain', '2010-01-11'),
    run('rain', '2010-01-18'),
    run('max_temp', '2010-01-11'),
  ]);
});

afterAll(() => session.close());

describe('training progress of several tasks', () => {
  it("is rain's alone by default, as before tasks", async () => {
    const p = await trainingProgress(ch, 2);
    expect(p).toMatchObject({ trainedUntil: '2010-01-17', runs: 2, reachableUntil: '2010-01-17' });
  });

  it('is that of the task furthest behind when the gate waits for every task', async () => {
    const p = await trainingProgress(ch, 2, ['rain', 'max_temp']);
    expect(p).toMatchObject({ trainedUntil: '2010-01-10', runs: 1, reachableUntil: '2010-01-10' });
    const none = await trainingProgress(ch, 2, ['rain', 'wind']);
    expect(none).toMatchObject({ trainedUntil: '', runs: 0 });
  });

  it("resumes and reports each task's own runs", async () => {
    expect(await lastTrainedWeek(ch)).toBe('2010-01-18');
    expect(await lastTrainedWeek(ch, 'max_temp')).toBe('2010-01-11');
    expect((await trainingRuns(ch, 'max_temp')).map((r) => r.runId)).toEqual(['max_temp:week-2010-01-11']);
  });
});
