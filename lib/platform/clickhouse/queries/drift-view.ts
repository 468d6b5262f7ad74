/**
 * Drift as the API and the dashboard read it: weekly statistics and incidents. This module is the one
 * place that knows where drift is stored, so pointing the API at another table is a change here only.
 *
 * Contract (what `GET /drift` returns, whatever the storage):
 * - `DriftWeekStat`: one statistic of one event-time week (Monday), with the threshold it was judged
 *   against and whether it alerted.
 * - `DriftIncident`: a run of consecutive alerting weeks of one (kind, name, statistic); `open` while
 *   its last week is the newest week drift has closed.
 *
 * Today incidents are derived from the weekly rows of the `drift` table (alert = 1); when the drift stage
 * writes incidents of its own, `driftIncidents` reads them instead and the contract stays.
 */
import type { SqlRunner } from '../client.ts';
import { quoteDate, quoteString } from '../sql.ts';

export interface DriftRange {
  /** The task whose champion's drift is read (default rain). */
  task?: string;
  /** Weeks (Mondays), inclusive, YYYY-MM-DD. */
  from?: string;
  to?: string;
}

export interface DriftWeekStat {
  week: string;
  modelVersion: string;
  kind: string;
  name: string;
  statistic: string;
  value: number;
  threshold: number;
  alert: boolean;
  n: number;
}

export interface DriftIncident {
  /** Stable for the incident: kind/name/statistic@openedWeek. */
  id: string;
  kind: string;
  name: string;
  statistic: string;
  openedWeek: string;
  lastWeek: string;
  weeks: number;
  maxValue: number;
  lastValue: number;
  threshold: number;
  modelVersion: string;
  open: boolean;
}

function rangeFilter(range: DriftRange): string {
  const conditions = [`task = ${quoteString(range.task ?? 'rain')}`];
  if (range.from !== undefined) conditions.push(`week >= ${quoteDate(range.from)}`);
  if (range.to !== undefined) conditions.push(`week <= ${quoteDate(range.to)}`);
  return conditions.join(' AND ');
}

export function driftWeeksSql(range: DriftRange): string {
  return `SELECT toString(week) AS week_text, model_version, kind, name, statistic, value, threshold, alert, n
FROM drift FINAL
WHERE ${rangeFilter(range)}
ORDER BY kind, name, statistic, week`;
}

export function latestDriftWeekSql(task = 'rain'): string {
  return `SELECT toString(max(week)) AS week, count() AS n FROM drift WHERE task = ${quoteString(task)}`;
}

export async function driftWeeks(runner: SqlRunner, range: DriftRange = {}): Promise<DriftWeekStat[]> {
  const rows = await runner.rows<Record<string, string | number>>(driftWeeksSql(range));
  return rows.map((r) => ({
    week: String(r.week_text),
    modelVersion: String(r.model_version),
    kind: String(r.kind),
    name: String(r.name),
    statistic: String(r.statistic),
    value: Number(r.value),
    threshold: Number(r.threshold),
    alert: Number(r.alert) === 1,
    n: Number(r.n),
  }));
}

/** The newest week drift has closed for a task, null before the first. */
export async function latestDriftWeek(runner: SqlRunner, task = 'rain'): Promise<string | null> {
  const [row] = await runner.rows<{ week: string; n: string | number }>(latestDriftWeekSql(task));
  return row && Number(row.n) > 0 ? row.week : null;
}

const WEEK_MS = 7 * 86_400_000;

function nextMonday(week: string): string {
  return new Date(Date.parse(`${week}T00:00:00Z`) + WEEK_MS).toISOString().slice(0, 10);
}

/**
 * Incidents from weekly rows: consecutive alerting weeks of a (kind, name, statistic) form one incident,
 * a week without an alert (or without a row) ends it. Pure; rows in any order.
 */
export function incidentsFromWeeks(
  rows: readonly DriftWeekStat[],
  latestWeek: string | null,
): DriftIncident[] {
  const series = new Map<string, DriftWeekStat[]>();
  for (const r of rows) {
    if (!r.alert) continue;
    const key = `${r.kind}/${r.name}/${r.statistic}`;
    let list = series.get(key);
    if (!list) series.set(key, (list = []));
    list.push(r);
  }
  const incidents: DriftIncident[] = [];
  for (const [key, list] of series) {
    list.sort((a, b) => (a.week < b.week ? -1 : a.week > b.week ? 1 : 0));
    let current: DriftIncident | null = null;
    for (const r of list) {
      if (current !== null && r.week === current.lastWeek) continue;
      if (current !== null && r.week === nextMonday(current.lastWeek)) {
        current.lastWeek = r.week;
        current.weeks++;
        current.maxValue = Math.max(current.maxValue, r.value);
        current.lastValue = r.value;
        current.threshold = r.threshold;
        current.modelVersion = r.modelVersion;
        continue;
      }
      current = {
        id: `${key}@${r.week}`,
        kind: r.kind,
        name: r.name,
        statistic: r.statistic,
        openedWeek: r.week,
        lastWeek: r.week,
        weeks: 1,
        maxValue: r.value,
        lastValue: r.value,
        threshold: r.threshold,
        modelVersion: r.modelVersion,
        open: false,
      };
      incidents.push(current);
    }
  }
  for (const incident of incidents) incident.open = latestWeek !== null && incident.lastWeek === latestWeek;
  return incidents.sort((a, b) =>
    a.openedWeek === b.openedWeek ? a.id.localeCompare(b.id) : a.openedWeek < b.openedWeek ? 1 : -1,
  );
}

export async function driftIncidents(runner: SqlRunner, range: DriftRange = {}): Promise<DriftIncident[]> {
  const [rows, latest] = await Promise.all([driftWeeks(runner, range), latestDriftWeek(runner, range.task)]);
  return incidentsFromWeeks(rows, latest);
}

/** A task's incidents still open (their last alerting week is its newest closed week), for metrics. */
export async function openDriftIncidents(runner: SqlRunner, task = 'rain'): Promise<number> {
  const latest = await latestDriftWeek(runner, task);
  if (latest === null) return 0;
  const [row] = await runner.rows<{ n: string | number }>(
    `SELECT count() AS n FROM drift FINAL WHERE task = ${quoteString(task)} AND week = ${quoteDate(latest)} AND alert = 1`,
  );
  return Number(row?.n ?? 0);
}
