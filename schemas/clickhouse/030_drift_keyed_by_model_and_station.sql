-- The drift table's key had no model version (a week served by two models kept one model's rows) and no
-- station, and ClickHouse cannot change a sorting key in place. The table is recreated keyed by (week,
-- model version, station, kind, name, statistic); station '*' is a statistic pooled over stations. Its old
-- rows (PSI per feature of the first drift stage) are dropped, not converted: they mean something else, and
-- the log keeps what the drift stage needs to recompute every week (reset its consumer groups).
DROP TABLE IF EXISTS drift;

CREATE TABLE IF NOT EXISTS drift (
  week Date,
  model_version String,
  station String,
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
ORDER BY (week, model_version, station, kind, name, statistic);
