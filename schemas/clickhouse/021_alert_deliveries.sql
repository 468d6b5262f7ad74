-- Every webhook delivery attempt, kept as a fact (plain MergeTree: a re-processed batch after a crash
-- attempts again, and that attempt is logged too). delivery_id is the idempotency key the receiver gets;
-- status: delivered | retrying | failed (gave up after the last attempt) | refused (host not allowed).
CREATE TABLE IF NOT EXISTS alert_deliveries (
  delivery_id String,
  subscription_id String,
  kind String,
  event String,
  host String,
  attempt UInt16,
  status String,
  http_status UInt16,
  error String,
  duration_ms UInt32,
  at DateTime('UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (subscription_id, at, delivery_id, attempt);
