-- The champion's reliability bins per week: predictions in ten probability bins, with the mean predicted
-- probability and the observed rain share of each.
CREATE TABLE IF NOT EXISTS drift_calibration (
  week Date,
  model_version String,
  bin UInt8,
  n UInt32,
  mean_p Float64,
  mean_y Float64,
  computed_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (week, model_version, bin);
