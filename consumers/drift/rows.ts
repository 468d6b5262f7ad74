/**
 * The ClickHouse `drift` row of a closed week's statistic (JSONEachRow object), keyed by week, model
 * version, kind and name, so a replayed week rewrites the same rows.
 */
import { toDateTime } from '../../lib/platform/clickhouse/sql.ts';
import type { DriftRow } from './step.ts';

export function driftRow(r: DriftRow, computedAt: number, ver: number) {
  return {
    week: r.week,
    model_version: r.modelVersion,
    kind: r.kind,
    name: r.name,
    statistic: r.statistic,
    value: Number.isFinite(r.value) ? r.value : 0,
    threshold: r.threshold,
    alert: r.alert ? 1 : 0,
    n: r.n,
    computed_at: toDateTime(computedAt),
    ver,
  };
}
