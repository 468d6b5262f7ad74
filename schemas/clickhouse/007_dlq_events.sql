-- Rejected input records, mirrored from the DLQ topic for inspection; the topic stays the record.
-- Keyed by source position, so mirroring the DLQ again collapses instead of doubling.
CREATE TABLE IF NOT EXISTS dlq_events (
  source_topic String,
  source_partition UInt32,
  source_offset UInt64,
  reason String,
  field String,
  raw String,
  at DateTime('UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (source_topic, source_partition, source_offset);
