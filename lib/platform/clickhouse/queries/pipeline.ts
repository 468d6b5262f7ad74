/**
 * How far the pipeline has got, read from what it made durable: row counts per table, the drain probe the
 * demo and the benches poll, latency quantiles, and what the replay's training gate waits on.
 */
import type { SqlRunner } from '../client.ts';
import { quoteString } from '../sql.ts';

export const COUNTED_TABLES = [
  'predictions',
  'actuals',
  'labeled_examples',
  'drift',
  'models',
  'model_aliases',
  'training_runs',
  'dlq_events',
] as const;
export type CountedTable = (typeof COUNTED_TABLES)[number];

/** Tables with one row per task and station-day: counted for rain (one per observation, as before tasks). */
const PER_TASK: ReadonlySet<CountedTable> = new Set(['predictions', 'actuals', 'labeled_examples']);

/**
 * Row count of each table after de-duplication (FINAL on the ReplacingMergeTree ones); the station-day
 * tables count rain's rows: the replay's expected counts are one per observation (taskCounts has each task).
 */
export function tableCountsSql(): string {
  const plain = new Set<CountedTable>(['model_aliases']);
  return COUNTED_TABLES.map(
    (t) =>
      `SELECT ${quoteString(t)} AS name, count() AS n FROM ${t}${plain.has(t) ? '' : ' FINAL'}${PER_TASK.has(t) ? ` WHERE task = 'rain'` : ''}`,
  ).join('\nUNION ALL\n');
}

/** Per task, de-duplicated predictions, joined outcomes, labeled examples and weekly runs. */
export async function taskCounts(
  runner: SqlRunner,
): Promise<Record<string, { predictions: number; joined: number; labeled: number; runs: number }>> {
  const rows = await runner.rows<{ task: string; name: string; n: string | number }>(
    `SELECT task, 'predictions' AS name, count() AS n FROM predictions FINAL GROUP BY task
UNION ALL SELECT task, 'joined' AS name, count() AS n FROM actuals FINAL WHERE status = 'joined' GROUP BY task
UNION ALL SELECT task, 'labeled' AS name, count() AS n FROM labeled_examples FINAL GROUP BY task
UNION ALL SELECT task, 'runs' AS name, count() AS n FROM training_runs FINAL WHERE command_id = '' GROUP BY task`,
  );
  const out: Record<string, { predictions: number; joined: number; labeled: number; runs: number }> = {};
  for (const r of rows) {
    const counts = (out[r.task] ??= { predictions: 0, joined: 0, labeled: 0, runs: 0 });
    counts[r.name as 'predictions' | 'joined' | 'labeled' | 'runs'] = Number(r.n);
  }
  return out;
}

export async function tableCounts(runner: SqlRunner): Promise<Record<CountedTable, number>> {
  const rows = await runner.rows<{ name: CountedTable; n: string | number }>(tableCountsSql());
  const counts = Object.fromEntries(COUNTED_TABLES.map((t) => [t, 0])) as Record<CountedTable, number>;
  for (const r of rows) counts[r.name] = Number(r.n);
  return counts;
}

/**
 * Raw row counts of rain's output rows, for polling: FINAL on every poll would make ClickHouse merge on
 * read all the time and take the CPU the pipeline needs. A re-delivered row can only make them larger.
 * Rain's alone: every task's rows of a record are written in the same batch as rain's.
 */
export async function outputProgress(
  runner: SqlRunner,
): Promise<{ predictions: number; actuals: number; labeled: number }> {
  const [row] = await runner.rows<{ p: string; a: string; l: string }>(
    `SELECT (SELECT count() FROM predictions WHERE task = 'rain') AS p,
       (SELECT count() FROM actuals WHERE task = 'rain') AS a,
       (SELECT count() FROM labeled_examples WHERE task = 'rain') AS l`,
  );
  return { predictions: Number(row!.p), actuals: Number(row!.a), labeled: Number(row!.l) };
}

/** Models trained and promoted so far. */
export async function modelCounts(runner: SqlRunner): Promise<{ trained: number; promoted: number }> {
  const [row] = await runner.rows<{ trained: string; promoted: string }>(
    `SELECT count() AS trained, countIf(status = 'promoted') AS promoted FROM models FINAL
     WHERE task IN ('rain', 'classification')`, // rows from before tasks hold 'classification'
  );
  return { trained: Number(row?.trained ?? 0), promoted: Number(row?.promoted ?? 0) };
}

/** The first prediction date of a task (default rain) served by a model other than its prior; null when none was. */
export async function firstPredictionDateNotBy(
  runner: SqlRunner,
  priorVersion: string,
  task = 'rain',
): Promise<string | null> {
  const [row] = await runner.rows<{ first_date: string; n: string }>(
    `SELECT toString(min(date)) AS first_date, count() AS n FROM predictions FINAL
     WHERE task = ${quoteString(task)} AND model_version != ${quoteString(priorVersion)}`,
  );
  return row && Number(row.n) > 0 ? row.first_date : null;
}

/** Observation-to-prediction latency quantiles, ms. */
export async function predictionLagQuantiles(runner: SqlRunner): Promise<{ p50: number; p99: number }> {
  const [row] = await runner.rows<{ p50: number; p99: number }>(
    `SELECT quantile(0.5)(lag_ms) AS p50, quantile(0.99)(lag_ms) AS p99 FROM predictions FINAL WHERE task = 'rain'`,
  );
  return { p50: Number(row?.p50), p99: Number(row?.p99) };
}
