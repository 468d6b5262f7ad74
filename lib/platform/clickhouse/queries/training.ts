/** What the weekly training runs recorded: where the schedule resumes, and how fresh the models were. */
import type { SqlRunner } from '../client.ts';

/** The boundary Monday of the newest recorded run; null before the first. */
export async function lastTrainedWeek(runner: SqlRunner): Promise<string | null> {
  const [row] = await runner.rows<{ week: string; n: string }>(
    `SELECT toString(max(week)) AS week, count() AS n FROM training_runs`,
  );
  return row && Number(row.n) > 0 ? row.week : null;
}

export interface TrainingProgress {
  /** Latest prediction date in the store. */
  predicted: string;
  /** Earliest and latest labeled dates, and how many labels. */
  labeledFrom: string;
  labeledUntil: string;
  labels: number;
  /** Latest data end of a recorded training run, and how many runs. */
  trainedUntil: string;
  runs: number;
}

/** Where predictions, labels and training runs have got to (the replay's training gate polls it). */
export async function trainingProgress(runner: SqlRunner): Promise<TrainingProgress> {
  const [row] = await runner.rows<Record<string, string>>(`SELECT
  (SELECT toString(max(date)) FROM predictions) AS predicted,
  (SELECT toString(min(date)) FROM labeled_examples) AS labeled_from,
  (SELECT toString(max(date)) FROM labeled_examples) AS labeled_until,
  (SELECT count() FROM labeled_examples) AS labels,
  (SELECT toString(max(data_until)) FROM training_runs) AS trained_until,
  (SELECT count() FROM training_runs) AS runs`);
  return {
    predicted: row!.predicted!,
    labeledFrom: row!.labeled_from!,
    labeledUntil: row!.labeled_until!,
    labels: Number(row!.labels),
    trainedUntil: row!.trained_until!,
    runs: Number(row!.runs),
  };
}

export interface StalenessSummary {
  runs: number;
  skipped: number;
  coalesced: number;
  p50: number;
  max: number;
}

/** Runs, skipped runs, weeks covered, and the median and largest staleness (days) of the runs. */
export async function stalenessSummary(runner: SqlRunner): Promise<StalenessSummary> {
  const [row] = await runner.rows<Record<string, string | number>>(
    `SELECT count() AS runs, countIf(winner = '') AS skipped, sum(coalesced_weeks) AS coalesced,
       quantile(0.5)(staleness_days) AS p50, max(staleness_days) AS max
     FROM training_runs FINAL WHERE staleness_days >= 0`,
  );
  return {
    runs: Number(row?.runs ?? 0),
    skipped: Number(row?.skipped ?? 0),
    coalesced: Number(row?.coalesced ?? 0),
    p50: Number(row?.p50),
    max: Number(row?.max),
  };
}
