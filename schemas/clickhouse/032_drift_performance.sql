-- Weekly accuracy and Brier per model version and station ('*' pooled): basis 'estimated' from the
-- calibrated probabilities before any label (CBPE), basis 'realized' once the labels joined, beside the
-- estimate on the same labeled rows and the reference (validation window) figures.
CREATE TABLE IF NOT EXISTS drift_performance (
  week Date,
  model_version String,
  station String,
  basis String,
  n UInt32,
  accuracy Float64,
  brier Float64,
  expected_accuracy Nullable(Float64),
  reference_accuracy Nullable(Float64),
  reference_brier Nullable(Float64),
  ece Nullable(Float64),
  computed_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (week, model_version, station, basis);
