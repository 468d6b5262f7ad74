-- Training rows: the features of (location, date) with the label observed on date+1, and the
-- probability the serving model gave. features are in the order of feature_set_version; NaN = missing.
CREATE TABLE IF NOT EXISTS labeled_examples (
  location String,
  date Date,
  feature_set_version String,
  features Array(Float64),
  label UInt8,
  rainfall_next Nullable(Float64),
  probability Float64,
  model_version String,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (location, date);
