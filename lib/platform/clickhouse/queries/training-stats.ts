/** Training runs as the metrics endpoint reports them: counts by outcome, duration of the newest. */
import type { SqlRunner } from '../client.ts';

export interface TrainingRunStats {
  /** Runs by outcome: promoted, kept (trained, champion stayed), skipped (nothing trained). */
  byOutcome: Record<'promoted' | 'kept' | 'skipped', number>;
  /** Wall seconds of the newest run; null before the first. */
  lastRunSeconds: number | null;
}

export function trainingRunStatsSql(): string {
  return `SELECT countIf(promoted = 1) AS n_promoted, countIf(promoted = 0 AND winner != '') AS n_kept,
  countIf(winner = '') AS n_skipped,
  argMax(toInt64(finished_at) - toInt64(started_at), started_at) AS last_s, count() AS n
FROM training_runs FINAL`;
}

/** Training runs by outcome and the duration of the newest, for the metrics endpoint. */
export async function trainingRunStats(runner: SqlRunner): Promise<TrainingRunStats> {
  const [row] = await runner.rows<Record<string, string | number>>(trainingRunStatsSql());
  const n = Number(row?.n ?? 0);
  return {
    byOutcome: {
      promoted: Number(row?.n_promoted ?? 0),
      kept: Number(row?.n_kept ?? 0),
      skipped: Number(row?.n_skipped ?? 0),
    },
    lastRunSeconds: n > 0 ? Number(row!.last_s) : null,
  };
}
