/**
 * What the drift stage made durable, as SQL text builders (values escaped by sql.ts) plus thin runners:
 * incidents (open now, or over a period), weekly performance with the estimate beside the realized
 * figures, a station's weekly statistics, and a canonical dump of every drift row for comparing two runs.
 * All of it runs on ClickHouse 18.16 and 26.x (no window functions, no query parameters). Each reads one
 * task's rows (rain unless told): every task's champion has its own drift.
 */
import type { SqlRunner } from '../client.ts';
import { quoteDate, quoteString } from '../sql.ts';

export interface IncidentRecord {
  incidentId: string;
  station: string;
  feature: string;
  kind: string;
  status: 'open' | 'resolved';
  openedWeek: string;
  lastBreachWeek: string;
  resolvedWeek: string | null;
  weeksBreached: number;
  modelVersion: string;
  statistic: string;
  value: number;
  peak: number;
  threshold: number;
  importance: number;
  rank: number;
}

export interface IncidentFilter {
  /** The task whose champion the incidents are about (default rain). */
  task?: string;
  status?: 'open' | 'resolved';
  station?: string;
  kind?: string;
  /** Opened on or after / on or before (Mondays, YYYY-MM-DD). */
  from?: string;
  to?: string;
  limit?: number;
}

export function incidentsSql(filter: IncidentFilter = {}): string {
  const where = [`task = ${quoteString(filter.task ?? 'rain')}`];
  if (filter.status !== undefined) where.push(`status = ${quoteString(filter.status)}`);
  if (filter.station !== undefined) where.push(`station = ${quoteString(filter.station)}`);
  if (filter.kind !== undefined) where.push(`kind = ${quoteString(filter.kind)}`);
  if (filter.from !== undefined) where.push(`opened_week >= ${quoteDate(filter.from)}`);
  if (filter.to !== undefined) where.push(`opened_week <= ${quoteDate(filter.to)}`);
  return `SELECT incident_id, station, feature, kind, status, toString(opened_week) AS opened_week,
  toString(last_breach_week) AS last_breach_week, toString(resolved_week) AS resolved_week, weeks_breached,
  model_version, statistic, value, peak, threshold, importance, rank
FROM drift_incidents FINAL
WHERE ${where.join(' AND ')}
ORDER BY opened_week, station, feature, kind
LIMIT ${Math.max(1, Math.trunc(filter.limit ?? 10_000))}`;
}

export async function incidents(runner: SqlRunner, filter: IncidentFilter = {}): Promise<IncidentRecord[]> {
  const rows = await runner.rows<Record<string, string | number | null>>(incidentsSql(filter));
  return rows.map((r) => ({
    incidentId: String(r.incident_id),
    station: String(r.station),
    feature: String(r.feature),
    kind: String(r.kind),
    status: r.status as 'open' | 'resolved',
    openedWeek: String(r.opened_week),
    lastBreachWeek: String(r.last_breach_week),
    resolvedWeek: r.resolved_week === null || r.resolved_week === '' ? null : String(r.resolved_week),
    weeksBreached: Number(r.weeks_breached),
    modelVersion: String(r.model_version),
    statistic: String(r.statistic),
    value: Number(r.value),
    peak: Number(r.peak),
    threshold: Number(r.threshold),
    importance: Number(r.importance),
    rank: Number(r.rank),
  }));
}

export interface WeeklyPerformance {
  week: string;
  modelVersion: string;
  /** Predictions the estimate covers, labeled rows the realized figures cover. */
  n: number;
  nLabeled: number;
  estimatedAccuracy: number | null;
  realizedAccuracy: number | null;
  estimatedBrier: number | null;
  realizedBrier: number | null;
  ece: number | null;
  referenceAccuracy: number | null;
  /** A regression task's realized errors (null for a classification task, and before labels). */
  realizedRmse: number | null;
  realizedMae: number | null;
  referenceRmse: number | null;
}

export interface PerformanceFilter {
  /** Default rain. */
  task?: string;
  from?: string;
  to?: string;
  modelVersion?: string;
}

/**
 * Pooled weekly performance: the estimate (made before any label) beside the realized figures, per model
 * version. A week whose labels have not arrived has a null realized side. A regression task has realized
 * RMSE and MAE and no estimate (consumers/drift/close.ts says why).
 */
export function weeklyPerformanceSql(filter: PerformanceFilter = {}): string {
  const where = [`task = ${quoteString(filter.task ?? 'rain')}`, `station = '*'`];
  if (filter.from !== undefined) where.push(`week >= ${quoteDate(filter.from)}`);
  if (filter.to !== undefined) where.push(`week <= ${quoteDate(filter.to)}`);
  if (filter.modelVersion !== undefined) where.push(`model_version = ${quoteString(filter.modelVersion)}`);
  // The text of the week is not aliased `week`: ClickHouse 18.16 resolves an alias before a column of the
  // same name, so a WHERE on week would compare the text with a date and fail.
  return `SELECT toString(week) AS week_text, model_version,
  sumIf(n, basis = 'estimated') AS n_estimated, sumIf(n, basis = 'realized') AS n_realized,
  anyIf(accuracy, basis = 'estimated') AS accuracy_estimated, anyIf(accuracy, basis = 'realized') AS accuracy_realized,
  anyIf(brier, basis = 'estimated') AS brier_estimated, anyIf(brier, basis = 'realized') AS brier_realized,
  anyIf(ece, basis = 'realized') AS ece_realized, any(reference_accuracy) AS accuracy_reference,
  anyIf(rmse, basis = 'realized') AS rmse_realized, anyIf(mae, basis = 'realized') AS mae_realized,
  any(reference_rmse) AS rmse_reference,
  countIf(basis = 'estimated') AS has_estimate, countIf(basis = 'realized') AS has_realized
FROM drift_performance FINAL
WHERE ${where.join(' AND ')}
GROUP BY week, model_version
ORDER BY week, model_version`;
}

export async function weeklyPerformance(
  runner: SqlRunner,
  filter: PerformanceFilter = {},
): Promise<WeeklyPerformance[]> {
  const rows = await runner.rows<Record<string, string | number | null>>(weeklyPerformanceSql(filter));
  const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => {
    const estimated = Number(r.has_estimate) > 0;
    const realized = Number(r.has_realized) > 0;
    return {
      week: String(r.week_text),
      modelVersion: String(r.model_version),
      n: Number(r.n_estimated),
      nLabeled: Number(r.n_realized),
      estimatedAccuracy: estimated ? num(r.accuracy_estimated) : null,
      realizedAccuracy: realized ? num(r.accuracy_realized) : null,
      estimatedBrier: estimated ? num(r.brier_estimated) : null,
      realizedBrier: realized ? num(r.brier_realized) : null,
      ece: realized ? num(r.ece_realized) : null,
      referenceAccuracy: num(r.accuracy_reference),
      realizedRmse: realized ? num(r.rmse_realized) : null,
      realizedMae: realized ? num(r.mae_realized) : null,
      referenceRmse: num(r.rmse_reference),
    };
  });
}

/** A station's weekly statistics for one feature (or every watched feature), oldest week first. */
export function stationWeeksSql(station: string, feature?: string, task = 'rain'): string {
  const where = [`task = ${quoteString(task)}`, `station = ${quoteString(station)}`];
  if (feature !== undefined) where.push(`feature = ${quoteString(feature)}`);
  return `SELECT toString(week) AS week, model_version, feature, rank, rows, valued, missing_share,
  missing_threshold, anomaly, residual_z, shift_threshold, residual_z2, shift_threshold2, spread_log_ratio,
  stuck_threshold, missing_breach, shift_breach, stuck_breach
FROM drift_stations FINAL
WHERE ${where.join(' AND ')}
ORDER BY week, model_version, feature`;
}

/** The drift stage's tables, each with the columns that say what it computed (not when it wrote it). */
export const DRIFT_TABLES = {
  drift: 'task, week, model_version, station, kind, name, statistic, value, threshold, alert, n',
  drift_stations:
    'task, week, model_version, station, feature, rows, valued, missing_share, missing_threshold, anomaly, residual_z, shift_threshold, residual_z2, shift_threshold2, spread_log_ratio, stuck_threshold, missing_breach, shift_breach, stuck_breach',
  drift_performance:
    'task, week, model_version, station, basis, n, accuracy, brier, expected_accuracy, reference_accuracy, reference_brier, ece, rmse, mae, reference_rmse',
  drift_calibration: 'task, week, model_version, bin, n, mean_p, mean_y',
  drift_incidents:
    'task, incident_id, station, feature, kind, status, opened_week, last_breach_week, resolved_week, weeks_breached, model_version, statistic, value, peak, threshold',
} as const;
export type DriftTable = keyof typeof DRIFT_TABLES;

/**
 * Every row of a drift table after de-duplication, in a canonical order, as text lines: two runs that
 * computed the same thing give the same lines whatever their timing (floats printed by ClickHouse at full
 * precision).
 */
export function driftDumpSql(table: DriftTable): string {
  const columns = DRIFT_TABLES[table];
  return `SELECT ${columns} FROM ${table} FINAL ORDER BY ${columns}`;
}

export async function driftDump(runner: SqlRunner, table: DriftTable): Promise<string[]> {
  const rows = await runner.rows<Record<string, unknown>>(driftDumpSql(table));
  return rows.map((r) => JSON.stringify(r));
}
