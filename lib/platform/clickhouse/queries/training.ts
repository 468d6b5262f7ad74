/**
 * What the training runs recorded: where the weekly schedule resumes, which commands ran, how far the
 * retraining has got against the labels (the replay's training gate), and the runs themselves (the
 * demo's and bench:prequential's weekly figures). A command's run (command_id set) is outside the weekly
 * schedule: it never moves where the schedule resumes nor how far the weekly retraining has got.
 */
import type { SqlRunner } from '../client.ts';
import { quoteDate, quoteString } from '../sql.ts';

/** The boundary Monday of the task's newest recorded weekly run; null before the first. */
export async function lastTrainedWeek(runner: SqlRunner, task = 'rain'): Promise<string | null> {
  const [row] = await runner.rows<{ week: string; n: string }>(
    `SELECT toString(max(week)) AS week, count() AS n FROM training_runs
     WHERE command_id = '' AND task = ${quoteString(task)}`,
  );
  return row && Number(row.n) > 0 ? row.week : null;
}

/** Whether a run of this command id is recorded (a command runs once, whatever redelivers it). */
export async function commandRan(runner: SqlRunner, commandId: string): Promise<boolean> {
  const [row] = await runner.rows<{ n: string }>(
    `SELECT count() AS n FROM training_runs WHERE command_id = ${quoteString(commandId)}`,
  );
  return Number(row?.n ?? 0) > 0;
}

export interface TrainingProgress {
  /** Latest prediction date in the store. */
  predicted: string;
  /** How many labels. */
  labels: number;
  /**
   * The data end of the newest weekly run the labels in the store make due (the trainer closes a week on
   * the first label dated BOUNDARY_GRACE_DAYS into a later week, and weeks without labels are no runs);
   * null while no week is closed.
   */
  reachableUntil: string | null;
  /** Latest data end of a recorded weekly run, and how many weekly runs. */
  trainedUntil: string;
  runs: number;
}

/**
 * Where predictions, labels and weekly training runs have got to (the replay's training gate polls it).
 * `graceDays` is the trainer's BOUNDARY_GRACE_DAYS (passed in: lib does not import the consumers).
 *
 * `tasks`: the tasks whose weekly runs count (default rain's). With several, the figures are those of the
 * task furthest behind: the least reachable week, the least trained data end, the fewest runs; so a gate
 * on them waits until every one of those tasks has trained the week (each task's week closes on its own
 * labels: a max_temp label is missing on a day without a maximum temperature).
 */
export async function trainingProgress(
  runner: SqlRunner,
  graceDays: number,
  tasks: readonly string[] = ['rain'],
): Promise<TrainingProgress> {
  const list = tasks.map(quoteString).join(', ');
  const [[row], runs, weeks] = await Promise.all([
    runner.rows<Record<string, string>>(`SELECT
  (SELECT toString(max(date)) FROM predictions WHERE task = 'rain') AS predicted,
  (SELECT count() FROM labeled_examples WHERE task = 'rain') AS labels`),
    runner.rows<{ task: string; trained_until: string; runs: string }>(
      `SELECT task, toString(max(data_until)) AS trained_until, count() AS runs FROM training_runs
       WHERE command_id = '' AND task IN (${list}) GROUP BY task`,
    ),
    // Each task's two newest weeks: the one its trainer is in, and the newest it can have closed.
    runner.rows<{ task: string; w: string }>(
      `SELECT task, toString(w) AS w FROM (SELECT DISTINCT task, toMonday(date - ${Math.trunc(graceDays)}) AS w
       FROM labeled_examples WHERE task IN (${list})) ORDER BY task, w DESC LIMIT 2 BY task`,
    ),
  ]);
  let reachableUntil: string | null = null;
  let trainedUntil = '';
  let fewestRuns = Number.POSITIVE_INFINITY;
  for (const task of tasks) {
    const own = weeks.filter((w) => w.task === task);
    const closed = own[1]?.w;
    // A task with no closed week yet makes nothing reachable for it: the others decide.
    if (closed !== undefined) {
      const until = sundayAfter(closed);
      if (reachableUntil === null || until < reachableUntil) reachableUntil = until;
    }
    const ran = runs.find((r) => r.task === task);
    const n = Number(ran?.runs ?? 0);
    if (n < fewestRuns) fewestRuns = n;
    const until = n > 0 ? ran!.trained_until : '';
    if (task === tasks[0] || until < trainedUntil) trainedUntil = until;
  }
  return {
    predicted: row!.predicted!,
    labels: Number(row!.labels),
    reachableUntil,
    trainedUntil,
    runs: Number.isFinite(fewestRuns) ? fewestRuns : 0,
  };
}

function sundayAfter(monday: string): string {
  const d = new Date(`${monday}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 6);
  return d.toISOString().slice(0, 10);
}

/** One recorded run, as the weekly figures read it. */
export interface TrainingRunFacts {
  runId: string;
  week: string;
  dataUntil: string;
  coalescedWeeks: number;
  /** -1: no champion trained yet when the run started. */
  stalenessDays: number;
  seconds: number;
  /** A model was trained (not skipped for want of rows). */
  trained: boolean;
  promoted: boolean;
  commandId: string;
}

/** The task's recorded runs (default rain's), in week order. */
export async function trainingRuns(runner: SqlRunner, task = 'rain'): Promise<TrainingRunFacts[]> {
  const rows = await runner.rows<Record<string, string | number>>(
    `SELECT run_id, toString(week) AS week, toString(data_until) AS data_until, coalesced_weeks,
       staleness_days, seconds, winner != '' AS trained, promoted, command_id
     FROM training_runs FINAL WHERE task = ${quoteString(task)} ORDER BY week, run_id`,
  );
  return rows.map((r) => ({
    runId: String(r.run_id),
    week: String(r.week),
    dataUntil: String(r.data_until),
    coalescedWeeks: Number(r.coalesced_weeks),
    stalenessDays: Number(r.staleness_days),
    seconds: Number(r.seconds),
    trained: Number(r.trained) === 1,
    promoted: Number(r.promoted) === 1,
    commandId: String(r.command_id),
  }));
}

/** The event-time weeks (Mondays) with at least one prediction, from `from` on. */
export async function predictedWeeks(runner: SqlRunner, from?: string): Promise<string[]> {
  const where = `WHERE task = 'rain'${from === undefined ? '' : ` AND date >= ${quoteDate(from)}`}`;
  const rows = await runner.rows<{ w: string }>(
    `SELECT toString(w) AS w FROM (SELECT DISTINCT toMonday(date) AS w FROM predictions ${where}) ORDER BY w`,
  );
  return rows.map((r) => r.w);
}
