-- One row per (location, date): the prediction made for rain on date+1. Re-processing the log writes
-- the same key again with a higher ver; reads use FINAL so the latest write wins.
-- Partitioned by year, not month: ten years of data should be a handful of parts, not hundreds.
CREATE TABLE IF NOT EXISTS predictions (
  location String,
  date Date,
  probability Float64,
  decision UInt8,
  threshold Float64,
  model_version String,
  feature_set_version String,
  ingested_at DateTime('UTC'),
  predicted_at DateTime('UTC'),
  lag_ms UInt32,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (location, date);
