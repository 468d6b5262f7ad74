-- One row per weekly training run: what it trained on, the candidates and their scores (JSON), the
-- winner, and why it was or was not promoted.
CREATE TABLE IF NOT EXISTS training_runs (
  run_id String,
  week Date,
  data_until Date,
  rows UInt64,
  candidates String,
  winner String,
  promoted UInt8,
  reasons String,
  staleness_days Int32,
  coalesced_weeks UInt32,
  started_at DateTime('UTC'),
  finished_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY run_id;
