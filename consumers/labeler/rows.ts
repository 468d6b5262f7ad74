/**
 * ClickHouse rows of the label join's outputs (JSONEachRow objects): `actuals` for every prediction, joined
 * or not, and `labeled_examples`. Keys are (location, date) and `ver` is the write time, so a replayed
 * batch rewrites the same keys and FINAL keeps one row each.
 */
import type { LabeledExample } from '../../lib/domain/events.ts';
import { floatsForJson, toDateTime } from '../../lib/platform/clickhouse/sql.ts';
import type { Actual } from './step.ts';

export function actualRow(a: Actual, joinedAt: number, ver: number) {
  return {
    location: a.location,
    date: a.date,
    status: a.status,
    rain_tomorrow: a.rainTomorrow === null ? null : a.rainTomorrow ? 1 : 0,
    rainfall_tomorrow_mm: a.rainfallTomorrowMm,
    joined_at: toDateTime(joinedAt),
    ver,
  };
}

export function labeledRow(e: LabeledExample, ver: number) {
  return {
    location: e.location,
    date: e.date,
    feature_set_version: e.featureSetVersion,
    features: floatsForJson(e.values),
    label: e.label ? 1 : 0,
    rainfall_next: e.rainfallNext,
    probability: e.probability,
    model_version: e.modelVersion,
    ver,
  };
}
