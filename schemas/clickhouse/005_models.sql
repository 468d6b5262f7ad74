-- The model registry: one row per trained version (params, metrics and the drift reference bins are
-- JSON text; artifact is the serialized model).
CREATE TABLE IF NOT EXISTS models (
  version String,
  family String,
  task String,
  params String,
  metrics String,
  feature_set_version String,
  train_start Date,
  train_end Date,
  rows UInt64,
  positives UInt64,
  code_version String,
  artifact String,
  reference String,
  status String,
  trained_at DateTime('UTC'),
  train_seconds Float64,
  peak_rss_mb Float64,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY version;

-- Alias history (champion, challenger): every change is kept; the current target of an alias is
-- argMax(version, ver) over its rows.
CREATE TABLE IF NOT EXISTS model_aliases (
  alias String,
  version String,
  previous_version String,
  reason String,
  changed_at DateTime('UTC'),
  ver UInt64
) ENGINE = MergeTree
ORDER BY (alias, changed_at, ver);
