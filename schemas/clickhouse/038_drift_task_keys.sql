-- Drift per task (consumers/drift watches each task's champion): every drift table gets `task` first in
-- its key, so a week of max_temp's champion is rows of its own beside rain's. The key of a table is fixed
-- when it is created: each table is copied, its rows becoming rain's (the only task drift watched before),
-- as migration 037 copied the station-day tables. Every statement can run again after a crash part-way
-- (a copy de-duplicates on its key and ver). drift_performance also gets a regression task's realized
-- errors (rmse, mae, and the champion's validation RMSE beside them) and its accuracy and Brier become
-- Nullable: a regression week has neither. DEFAULT 'rain' serves statements that leave the column out; a
-- JSONEachRow insert on 18.16 gives an omitted field the type's default (''), so every writer names it.
DROP TABLE IF EXISTS drift_before_038;

CREATE TABLE IF NOT EXISTS drift_038 (
  task String DEFAULT 'rain',
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
ORDER BY (task, week, model_version, station, kind, name, statistic);

INSERT INTO drift_038 (task, week, model_version, station, kind, name, statistic, value, threshold, alert, n,
  computed_at, ver)
SELECT 'rain', week, model_version, station, kind, name, statistic, value, threshold, alert, n, computed_at,
  ver
FROM drift;

RENAME TABLE drift TO drift_before_038, drift_038 TO drift;

DROP TABLE IF EXISTS drift_before_038;

DROP TABLE IF EXISTS drift_stations_before_038;

CREATE TABLE IF NOT EXISTS drift_stations_038 (
  task String DEFAULT 'rain',
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
ORDER BY (task, week, model_version, station, feature);

INSERT INTO drift_stations_038 (task, week, model_version, station, feature, rank, importance, rows, valued,
  missing_share, missing_threshold, anomaly, residual_z, shift_threshold, residual_z2, shift_threshold2,
  spread_log_ratio, stuck_threshold, missing_breach, shift_breach, stuck_breach, computed_at, ver)
SELECT 'rain', week, model_version, station, feature, rank, importance, rows, valued, missing_share,
  missing_threshold, anomaly, residual_z, shift_threshold, residual_z2, shift_threshold2, spread_log_ratio,
  stuck_threshold, missing_breach, shift_breach, stuck_breach, computed_at, ver
FROM drift_stations;

RENAME TABLE drift_stations TO drift_stations_before_038, drift_stations_038 TO drift_stations;

DROP TABLE IF EXISTS drift_stations_before_038;

DROP TABLE IF EXISTS drift_performance_before_038;

CREATE TABLE IF NOT EXISTS drift_performance_038 (
  task String DEFAULT 'rain',
  week Date,
  model_version String,
  station String,
  basis String,
  n UInt32,
  accuracy Nullable(Float64),
  brier Nullable(Float64),
  expected_accuracy Nullable(Float64),
  reference_accuracy Nullable(Float64),
  reference_brier Nullable(Float64),
  ece Nullable(Float64),
  rmse Nullable(Float64),
  mae Nullable(Float64),
  reference_rmse Nullable(Float64),
  computed_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (task, week, model_version, station, basis);

INSERT INTO drift_performance_038 (task, week, model_version, station, basis, n, accuracy, brier,
  expected_accuracy, reference_accuracy, reference_brier, ece, computed_at, ver)
SELECT 'rain', week, model_version, station, basis, n, accuracy, brier, expected_accuracy, reference_accuracy,
  reference_brier, ece, computed_at, ver
FROM drift_performance;

RENAME TABLE drift_performance TO drift_performance_before_038, drift_performance_038 TO drift_performance;

DROP TABLE IF EXISTS drift_performance_before_038;

DROP TABLE IF EXISTS drift_calibration_before_038;

CREATE TABLE IF NOT EXISTS drift_calibration_038 (
  task String DEFAULT 'rain',
  week Date,
  model_version String,
  bin UInt8,
  n UInt32,
  mean_p Float64,
  mean_y Float64,
  computed_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (task, week, model_version, bin);

INSERT INTO drift_calibration_038 (task, week, model_version, bin, n, mean_p, mean_y, computed_at, ver)
SELECT 'rain', week, model_version, bin, n, mean_p, mean_y, computed_at, ver
FROM drift_calibration;

RENAME TABLE drift_calibration TO drift_calibration_before_038, drift_calibration_038 TO drift_calibration;

DROP TABLE IF EXISTS drift_calibration_before_038;

DROP TABLE IF EXISTS drift_incidents_before_038;

CREATE TABLE IF NOT EXISTS drift_incidents_038 (
  task String DEFAULT 'rain',
  incident_id String,
  station String,
  feature String,
  kind String,
  status String,
  opened_week Date,
  last_breach_week Date,
  resolved_week Nullable(Date),
  weeks_breached UInt32,
  model_version String,
  statistic String,
  value Float64,
  peak Float64,
  threshold Float64,
  importance Float64,
  rank UInt16,
  updated_week Date,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (task, station, feature, kind, opened_week, incident_id);

INSERT INTO drift_incidents_038 (task, incident_id, station, feature, kind, status, opened_week,
  last_breach_week, resolved_week, weeks_breached, model_version, statistic, value, peak, threshold,
  importance, rank, updated_week, ver)
SELECT 'rain', incident_id, station, feature, kind, status, opened_week, last_breach_week, resolved_week,
  weeks_breached, model_version, statistic, value, peak, threshold, importance, rank, updated_week, ver
FROM drift_incidents;

RENAME TABLE drift_incidents TO drift_incidents_before_038, drift_incidents_038 TO drift_incidents;

DROP TABLE IF EXISTS drift_incidents_before_038;
