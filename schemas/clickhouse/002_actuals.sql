-- The outcome of each prediction, keyed like it: `date` is the prediction's date D, the rain facts are
-- those of D+1. status = 'joined' when the next day's observation arrived, 'missing' when the grace
-- period ran out without it (rain_tomorrow stays NULL).
CREATE TABLE IF NOT EXISTS actuals (
  location String,
  date Date,
  status String,
  rain_tomorrow Nullable(UInt8),
  rainfall_tomorrow_mm Nullable(Float64),
  joined_at DateTime('UTC'),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (location, date);
