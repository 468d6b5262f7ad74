-- Tasks (lib/models/tasks.ts): every prediction, outcome, training row and training run belongs to one
-- task (rain, max_temp, ...). The three tables keyed by (location, date) get `task` first in their key, so
-- a station-day holds one row per task, and the regression columns: the forecast value of a prediction,
-- the actual value of an outcome, the target and served value of a training row. The key of a table is
-- fixed when it is created: each table is copied, its rows becoming rain's (the only task before), as
-- migration 036 copied the registry. Every statement can run again after a crash part-way (a copy
-- de-duplicates on its key and ver). training_runs is copied too rather than altered: 18.16 has no
-- ADD COLUMN IF NOT EXISTS, and a copy runs again whole. Its key stays run_id: a task other than rain
-- prefixes its run ids with the task. DEFAULT 'rain' serves statements that leave the column out; a
-- JSONEachRow insert on 18.16 gives an omitted field the type's default (''), not the column's, so every
-- writer names the task.
DROP TABLE IF EXISTS predictions_before_037;

CREATE TABLE IF NOT EXISTS predictions_037 (
  task String DEFAULT 'rain',
  location String,
  date Date,
  probability Float64,
  value Nullable(Float64),
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
ORDER BY (task, location, date);

INSERT INTO predictions_037 (task, location, date, probability, decision, threshold, model_version,
  feature_set_version, ingested_at, predicted_at, lag_ms, ver)
SELECT 'rain', location, date, probability, decision, threshold, model_version, feature_set_version,
  ingested_at, predicted_at, lag_ms, ver
FROM predictions;

RENAME TABLE predictions TO predictions_before_037, predictions_037 TO predictions;

DROP TABLE IF EXISTS predictions_before_037;

DROP TABLE IF EXISTS actuals_before_037;

CREATE TABLE IF NOT EXISTS actuals_037 (
  task String DEFAULT 'rain',
  location String,
  date Date,
  status String,
  rain_tomorrow Nullable(UInt8),
  rainfall_tomorrow_mm Nullable(Float64),
  actual_value Nullable(Float64),
  joined_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (task, location, date);

INSERT INTO actuals_037 (task, location, date, status, rain_tomorrow, rainfall_tomorrow_mm, joined_at, ver)
SELECT 'rain', location, date, status, rain_tomorrow, rainfall_tomorrow_mm, joined_at, ver
FROM actuals;

RENAME TABLE actuals TO actuals_before_037, actuals_037 TO actuals;

DROP TABLE IF EXISTS actuals_before_037;

DROP TABLE IF EXISTS labeled_examples_before_037;

CREATE TABLE IF NOT EXISTS labeled_examples_037 (
  task String DEFAULT 'rain',
  location String,
  date Date,
  feature_set_version String,
  features Array(Float64),
  label UInt8,
  target Nullable(Float64),
  value Nullable(Float64),
  rainfall_next Nullable(Float64),
  probability Float64,
  model_version String,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (task, location, date);

INSERT INTO labeled_examples_037 (task, location, date, feature_set_version, features, label,
  rainfall_next, probability, model_version, ver)
SELECT 'rain', location, date, feature_set_version, features, label, rainfall_next, probability,
  model_version, ver
FROM labeled_examples;

RENAME TABLE labeled_examples TO labeled_examples_before_037, labeled_examples_037 TO labeled_examples;

DROP TABLE IF EXISTS labeled_examples_before_037;

DROP TABLE IF EXISTS training_runs_before_037;

CREATE TABLE IF NOT EXISTS training_runs_037 (
  task String DEFAULT 'rain',
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
  ver UInt64,
  requested_by String DEFAULT 'schedule',
  command_id String DEFAULT '',
  request_reason String DEFAULT '',
  seconds Float64 DEFAULT 0
) ENGINE = ReplacingMergeTree(ver)
ORDER BY run_id;

INSERT INTO training_runs_037 (task, run_id, week, data_until, rows, candidates, winner, promoted, reasons,
  staleness_days, coalesced_weeks, started_at, finished_at, ver, requested_by, command_id, request_reason,
  seconds)
SELECT 'rain', run_id, week, data_until, rows, candidates, winner, promoted, reasons, staleness_days,
  coalesced_weeks, started_at, finished_at, ver, requested_by, command_id, request_reason, seconds
FROM training_runs;

RENAME TABLE training_runs TO training_runs_before_037, training_runs_037 TO training_runs;

DROP TABLE IF EXISTS training_runs_before_037;
