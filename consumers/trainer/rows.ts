/**
 * The ClickHouse `training_runs` row of a run: what was due, what competed, who won and whether it was
 * promoted, and who asked (the schedule, or a command with its id and reason). Keyed by the run: a weekly
 * run by its week, a command's run by the command id, so a run recorded twice leaves one row.
 */
import { toDateTime } from '../../lib/platform/clickhouse/sql.ts';
import type { DueTraining } from './step.ts';
import type { TrainingRunResult } from './training-run.ts';

/**
 * The run id of a due training: the week for the schedule's, the command id for a command's; prefixed
 * with the task for a task other than rain (whose ids are those from before tasks).
 */
export function runIdOf(due: Pick<DueTraining, 'week' | 'command'>, task = 'rain'): string {
  const id = due.command ? `command-${due.command.id}` : `week-${due.week}`;
  return task === 'rain' ? id : `${task}:${id}`;
}

export function trainingRunRow(
  due: DueTraining,
  result: TrainingRunResult,
  startedAt: number,
  finishedAt: number,
  task = 'rain',
) {
  const decision = result.decision;
  return {
    task,
    run_id: runIdOf(due, task),
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
    requested_by: due.command?.requestedBy ?? 'schedule',
    command_id: due.command?.id ?? '',
    request_reason: due.command?.reason ?? '',
    seconds: (finishedAt - startedAt) / 1000,
    ver: finishedAt * 1000,
  };
}
