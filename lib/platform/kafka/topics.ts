import type { Config, Topics } from '../config.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  /** Topic-level configs, as the broker spells them. */
  configEntries: Readonly<Record<string, string>>;
}

const DAY_MS = 86_400_000;
/** Kafka is the source of truth: every derived state (Redis, ClickHouse, models) is rebuilt from it. */
const KEEP_FOREVER = { 'retention.ms': '-1', 'retention.bytes': '-1', 'cleanup.policy': 'delete' };
const KEEP_30_DAYS = { 'retention.ms': String(30 * DAY_MS), 'cleanup.policy': 'delete' };
/** The latest value per key, kept forever (small state a process reads at start). */
const COMPACTED = { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'min.cleanable.dirty.ratio': '0.1' };

/**
 * Topic specs for the whole pipeline, from config. Model events, alert subscriptions and the Open-Meteo
 * ingestion state are compacted, single-partition topics: keyed by alias, id or station, tiny, and
 * readers want changes in the order they happened. Commands (retrain now) are kept 30 days: an audit
 * trail, not state. Open-Meteo's raw answers are kept forever (a mapping fix replays them) and stored
 * gzipped by the broker (JSON bodies shrink several times).
 * The drift partials are single-partition too, so one closer sees every partition's weeks (and the
 * order each partition closed them in); compacted on `source|partition|week`, so a partial re-emitted
 * after a crash leaves one copy, and kept forever (no min.cleanable.dirty.ratio: the closer rebuilds its
 * state from it).
 */
export function topicSpecs(
  config: Pick<Config, 'topics' | 'topicPartitions'>,
  replicationFactor = 1,
): TopicSpec[] {
  const t: Topics = config.topics;
  const data = (topic: string, configEntries: Record<string, string>): TopicSpec => ({
    topic,
    numPartitions: config.topicPartitions,
    replicationFactor,
    configEntries,
  });
  const compacted = (topic: string): TopicSpec => ({
    topic,
    numPartitions: 1,
    replicationFactor,
    configEntries: COMPACTED,
  });
  return [
    data(t.observations, KEEP_FOREVER),
    data(t.features, KEEP_FOREVER),
    data(t.predictions, KEEP_FOREVER),
    data(t.labeled, KEEP_FOREVER),
    data(t.openMeteoRaw, { ...KEEP_FOREVER, 'compression.type': 'gzip' }),
    data(t.observationsDlq, KEEP_30_DAYS),
    data(t.driftAlerts, KEEP_30_DAYS),
    compacted(t.modelEvents),
    compacted(t.openMeteoState),
    // One partition: commands are rare and their order matters.
    { ...data(t.commands, KEEP_30_DAYS), numPartitions: 1 },
    // Keyed by subscription id; a tombstone (null value) deletes one, and compaction then forgets it.
    compacted(t.subscriptions),
    {
      topic: t.driftPartials,
      numPartitions: 1,
      replicationFactor,
      configEntries: { 'cleanup.policy': 'compact', 'retention.ms': '-1' },
    },
  ];
}
