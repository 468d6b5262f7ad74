-- Drift incidents: one row per incident (station or '*', feature, kind, week opened), rewritten each
-- week it changes; ver is the day number of that week, so the latest state wins.
CREATE TABLE IF NOT EXISTS drift_incidents (
  incident_id String,
  station String,
  feature String,
  kind String,
  status String,
  opened_week Date,
  last_breach_week Date,
  resolved_week Nullable(Date),
  weeks_breached UInt32,
  model_version String,
  statistic String,
  value Float64,
  peak Float64,
  threshold Float64,
  importance Float64,
  rank UInt16,
  updated_week Date,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (station, feature, kind, opened_week, incident_id);
