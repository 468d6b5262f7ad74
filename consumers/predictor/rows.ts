/**
 * The ClickHouse `predictions` row of a prediction (JSONEachRow object). Keyed by (task, location, date) with the
 * write time as `ver`, so a replayed batch rewrites the same key and FINAL keeps one row.
 */
import type { Prediction } from '../../lib/domain/events.ts';
import { toDateTime } from '../../lib/platform/clickhouse/sql.ts';

export function predictionRow(p: Prediction, ver: number) {
  return {
    task: p.task,
    location: p.location,
    date: p.date,
    probability: p.probability,
    value: p.value,
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
