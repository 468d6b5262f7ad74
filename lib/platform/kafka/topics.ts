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
 * Topic specs for the whole pipeline, from config. Model events are a compacted, single-partition
 * topic: keyed by alias, tiny, and readers want alias changes in the order they happened. Open-Meteo's
 * raw answers are kept forever (a mapping fix replays them) and stored gzipped by the broker (JSON
 * bodies shrink several times); its ingestion state is one small record per station, compacted.
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
  return [
    data(t.observations, KEEP_FOREVER),
    data(t.features, KEEP_FOREVER),
    data(t.predictions, KEEP_FOREVER),
    data(t.labeled, KEEP_FOREVER),
    data(t.openMeteoRaw, { ...KEEP_FOREVER, 'compression.type': 'gzip' }),
    data(t.observationsDlq, KEEP_30_DAYS),
    data(t.driftAlerts, KEEP_30_DAYS),
    {
      topic: t.modelEvents,
      numPartitions: 1,
      replicationFactor,
      configEntries: {
        'cleanup.policy': 'compact',
        'retention.ms': '-1',
        'min.cleanable.dirty.ratio': '0.1',
      },
    },
    { topic: t.openMeteoState, numPartitions: 1, replicationFactor, configEntries: COMPACTED },
  ];
}
