/**
 * ClickHouse rows (JSONEachRow objects) of what a closed week produced. Every table is a
 * ReplacingMergeTree keyed so that a week closed again (after a crash, or by a replay) rewrites the same
 * rows; the drift table's key includes the model version, so a week served by two models keeps both.
 * Incident rows are versioned by event time (the week they changed in), so the latest state of an
 * incident wins however often a week is closed again. Every row names its task (migration 038 puts it
 * first in each key): ClickHouse 18.16 gives a JSON field left out the type's default, not the column's.
 */
import { toDateTime } from '../../lib/platform/clickhouse/sql.ts';
import { dayNumber } from '../../lib/domain/time.ts';
import type { CalibrationRow, DriftRow, Incident, PerformanceRow, StationWeekRow } from './step.ts';

const finiteOrNull = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

/**
 * Six significant digits: a weekly z or anomaly means nothing beyond that, and the station table is the
 * drift stage's largest write (a row per station, watched field and instrument, every week: about 400,000
 * rows over the full file), so shorter numbers are less for ClickHouse to parse on a shared machine.
 */
const short = (x: number): number => Number(x.toPrecision(6));

/** The columns of a row whose value is known; ClickHouse fills an omitted Nullable column with NULL. */
function known(values: Record<string, number | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v !== null && Number.isFinite(v)) out[k] = short(v);
  }
  return out;
}

/** A pooled statistic; null when its value is not a number (an empty week), which is then not written. */
export function driftRow(task: string, r: DriftRow, computedAt: number, ver: number) {
  if (!Number.isFinite(r.value)) return null;
  return {
    task,
    week: r.week,
    model_version: r.modelVersion,
    station: r.station,
    kind: r.kind,
    name: r.name,
    statistic: r.statistic,
    value: r.value,
    threshold: Number.isFinite(r.threshold) ? r.threshold : 0,
    alert: r.alert ? 1 : 0,
    n: r.n,
    computed_at: toDateTime(computedAt),
    ver,
  };
}

export function stationRow(task: string, r: StationWeekRow, computedAt: number, ver: number) {
  return {
    task,
    week: r.week,
    model_version: r.modelVersion,
    station: r.station,
    feature: r.feature,
    rank: r.rank,
    importance: short(r.importance),
    rows: r.rows,
    valued: r.valued,
    missing_share: short(r.missingShare),
    ...known({
      missing_threshold: r.missingThreshold,
      anomaly: r.anomaly,
      residual_z: r.residualZ,
      shift_threshold: r.shiftThreshold,
      residual_z2: r.residualZ2,
      shift_threshold2: r.shiftThreshold2,
      spread_log_ratio: r.spreadLogRatio,
      stuck_threshold: r.stuckThreshold,
    }),
    missing_breach: r.missingBreach ? 1 : 0,
    shift_breach: r.shiftBreach ? 1 : 0,
    stuck_breach: r.stuckBreach ? 1 : 0,
    computed_at: toDateTime(computedAt),
    ver,
  };
}

export function performanceRow(task: string, r: PerformanceRow, computedAt: number, ver: number) {
  return {
    task,
    week: r.week,
    model_version: r.modelVersion,
    station: r.station,
    basis: r.basis,
    n: r.n,
    accuracy: finiteOrNull(r.accuracy),
    brier: finiteOrNull(r.brier),
    expected_accuracy: finiteOrNull(r.expectedAccuracy),
    reference_accuracy: finiteOrNull(r.referenceAccuracy),
    reference_brier: finiteOrNull(r.referenceBrier),
    ece: finiteOrNull(r.ece),
    rmse: finiteOrNull(r.rmse),
    mae: finiteOrNull(r.mae),
    reference_rmse: finiteOrNull(r.referenceRmse),
    computed_at: toDateTime(computedAt),
    ver,
  };
}

export function calibrationRow(task: string, r: CalibrationRow, computedAt: number, ver: number) {
  return {
    task,
    week: r.week,
    model_version: r.modelVersion,
    bin: r.bin,
    n: r.n,
    mean_p: r.meanP,
    mean_y: r.meanY,
    computed_at: toDateTime(computedAt),
    ver,
  };
}

/** `week` is the week the incident changed in: its version, so later weeks win. */
export function incidentRow(task: string, i: Incident, week: string) {
  return {
    task,
    incident_id: i.id,
    station: i.station,
    feature: i.feature,
    kind: i.kind,
    status: i.status,
    opened_week: i.openedWeek,
    last_breach_week: i.lastBreachWeek,
    resolved_week: i.resolvedWeek,
    weeks_breached: i.weeksBreached,
    model_version: i.modelVersion,
    statistic: i.statistic,
    value: i.value,
    peak: i.peak,
    threshold: i.threshold,
    importance: i.importance,
    rank: i.rank,
    updated_week: week,
    ver: dayNumber(week),
  };
}
