/**
 * The ClickHouse `training_runs` row of a weekly run: what was due, what competed, who won and whether it
 * was promoted. Keyed by the run's week, so a run recorded twice leaves one row.
 */
import { toDateTime } from '../../lib/platform/clickhouse/sql.ts';
import type { DueTraining } from './step.ts';
import type { TrainingRunResult } from './training-run.ts';

export function trainingRunRow(
  due: DueTraining,
  result: TrainingRunResult,
  startedAt: number,
  finishedAt: number,
) {
  const decision = result.decision;
  return {
    run_id: `week-${due.week}`,
    week: due.week,
    data_until: due.dataUntil,
    rows: result.trainRows,
    candidates: JSON.stringify(decision?.table ?? []),
    winner: result.winnerVersion ?? '',
    promoted: decision?.promote ? 1 : 0,
    reasons: result.status === 'skipped' ? result.reason : JSON.stringify(decision?.reasons ?? []),
    staleness_days: due.staleness ?? -1,
    coalesced_weeks: due.coalescedWeeks,
    started_at: toDateTime(startedAt),
    finished_at: toDateTime(finishedAt),
    ver: finishedAt * 1000,
  };
}
