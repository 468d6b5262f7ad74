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

/**
 * Topic specs for the whole pipeline, from config. Model events are a compacted, single-partition
 * topic: keyed by alias, tiny, and readers want alias changes in the order they happened. The drift
 * partials are single-partition too, so one closer sees every partition's weeks (and the order each
 * partition closed them in); compacted on `source|partition|week`, so a partial re-emitted after a crash
 * leaves one copy, and kept forever, since the closer rebuilds its state from it.
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
    data(t.observationsDlq, KEEP_30_DAYS),
    data(t.driftAlerts, KEEP_30_DAYS),
    data(t.commands, KEEP_30_DAYS),
    {
      topic: t.driftPartials,
      numPartitions: 1,
      replicationFactor,
      configEntries: { 'cleanup.policy': 'compact', 'retention.ms': '-1' },
    },
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
  ];
}
