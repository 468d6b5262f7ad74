-- Reading one model (its artifact and drift reference, 100-300 kB each) read every model: the registry
-- is keyed by version with ClickHouse's default 8,192 rows per index granule, so a whole part was one
-- granule and `WHERE version = ...` decompressed every artifact in it. After a few hundred weekly runs a
-- champion load took 5-12 s and slowed the whole replay. With 8 rows per granule a lookup by version
-- reads a handful of rows. The index granularity is fixed when a table is created: the table is copied.
-- Every statement can run again after a crash part-way (the copy de-duplicates on its version key).
DROP TABLE IF EXISTS models_before_036;

CREATE TABLE IF NOT EXISTS models_granular AS models
ENGINE = ReplacingMergeTree(ver)
ORDER BY version
SETTINGS index_granularity = 8;

INSERT INTO models_granular SELECT * FROM models;

RENAME TABLE models TO models_before_036, models_granular TO models;

DROP TABLE IF EXISTS models_before_036;
