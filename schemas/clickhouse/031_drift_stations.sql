-- Every statistic of one station's watched sensor field for one event-time week: missing share, anomaly
-- and neighbour residual z over one and two weeks, spread against the station-month spread, each with the
-- threshold derived from the model's reference and whether it breached.
CREATE TABLE IF NOT EXISTS drift_stations (
  week Date,
  model_version String,
  station String,
  feature String,
  rank UInt16,
  importance Float64,
  rows UInt32,
  valued UInt32,
  missing_share Float64,
  missing_threshold Nullable(Float64),
  anomaly Nullable(Float64),
  residual_z Nullable(Float64),
  shift_threshold Nullable(Float64),
  residual_z2 Nullable(Float64),
  shift_threshold2 Nullable(Float64),
  spread_log_ratio Nullable(Float64),
  stuck_threshold Nullable(Float64),
  missing_breach UInt8,
  shift_breach UInt8,
  stuck_breach UInt8,
  computed_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (week, model_version, station, feature);
