-- One statistic per (event-time week, kind, name, statistic): PSI of a feature, of the predictions,
-- or a performance figure, with the threshold it was judged against.
CREATE TABLE IF NOT EXISTS drift (
  week Date,
  model_version String,
  kind String,
  name String,
  statistic String,
  value Float64,
  threshold Float64,
  alert UInt8,
  n UInt64,
  computed_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (week, kind, name, statistic);
