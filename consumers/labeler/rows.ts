/**
 * ClickHouse rows of the label join's outputs (JSONEachRow objects): `actuals` for every prediction, joined
 * or not, and `labeled_examples`. Keys are (task, location, date) and `ver` is the write time, so a replayed
 * batch rewrites the same keys and FINAL keeps one row each.
 */
import type { LabeledExample } from '../../lib/domain/events.ts';
import { floatsForJson, toDateTime } from '../../lib/platform/clickhouse/sql.ts';
import type { Actual } from './step.ts';

export function actualRow(a: Actual, joinedAt: number, ver: number) {
  return {
    task: a.task,
    location: a.location,
    date: a.date,
    status: a.status,
    rain_tomorrow: a.rainTomorrow === null ? null : a.rainTomorrow ? 1 : 0,
    rainfall_tomorrow_mm: a.rainfallTomorrowMm,
    actual_value: a.actualValue,
    joined_at: toDateTime(joinedAt),
    ver,
  };
}

export function labeledRow(e: LabeledExample, ver: number) {
  return {
    task: e.task,
    location: e.location,
    date: e.date,
    feature_set_version: e.featureSetVersion,
    features: floatsForJson(e.values),
    label: e.label ? 1 : 0,
    target: e.target,
    value: e.value,
    rainfall_next: e.rainfallNext,
    probability: e.probability,
    model_version: e.modelVersion,
    ver,
  };
}
