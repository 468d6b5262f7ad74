-- Alert subscriptions as the API lists them: a materialization of the compacted subscriptions topic
-- (Kafka is the store; the API writes the topic, then this row; the alerts stage writes it again from the
-- topic, so the view heals from the log). The webhook secret is never stored here. deleted = 1 after a
-- tombstone; the newest ver of an id wins.
CREATE TABLE IF NOT EXISTS alert_subscriptions (
  id String,
  kind String,
  location String,
  threshold Nullable(Float64),
  url String,
  description String,
  created_by String,
  created_at DateTime('UTC'),
  deleted UInt8,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY id;
