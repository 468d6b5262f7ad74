/**
 * ClickHouse rows of the stages' outputs (JSONEachRow objects). Keys are (location, date) and `ver` is the
 * write time, so a replayed batch rewrites the same keys and FINAL keeps one row each.
 */
import type { LabeledExample, Prediction } from '../../lib/domain/events.ts';
import { toDateTime } from '../../lib/platform/clickhouse/sql.ts';
import type { Actual } from './step.ts';

/**
 * JSON has no NaN. ClickHouse reads the string "nan" into Float64 on both 18.16 and 26.x, whereas null
 * becomes 0 on 26.x: missing features must stay missing.
 */
export function floatsForJson(values: readonly number[]): (number | string)[] {
  const out = new Array<number | string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v;
  }
  return out;
}

export function predictionRow(p: Prediction, ver: number) {
  return {
    location: p.location,
    date: p.date,
    probability: p.probability,
    decision: p.decision ? 1 : 0,
    threshold: p.threshold,
    model_version: p.modelVersion,
    feature_set_version: p.featureSetVersion,
    ingested_at: toDateTime(p.ingestedAt),
    predicted_at: toDateTime(p.predictedAt),
    lag_ms: Math.max(0, Math.min(4_294_967_295, Math.round(p.predictedAt - p.ingestedAt))),
    ver,
  };
}

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
