import { RainstreamError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Admin, Kafka } from './client.ts';
import type { TopicSpec } from './topics.ts';

/** ConfigResourceTypes.TOPIC in the Kafka protocol; a number so that kafkajs stays in client.ts. */
const TOPIC_RESOURCE = 2;

export interface EnsureTopicsReport {
  created: string[];
  existing: string[];
  /** Existing topics whose configs differed from the spec and were set to it. */
  reconfigured: string[];
}

/**
 * Creates missing topics (waiting for their leaders, since KRaft refuses fetches for a topic whose
 * leader is not elected yet), checks that existing ones have the partition count of the spec, and
 * sets their configs to the spec. Safe to run from several processes at once and any number of times.
 * A partition mismatch is an error, not a fix: adding partitions would re-route keys and break the
 * per-(location) ordering the stages rely on.
 */
export async function ensureTopics(
  kafka: Kafka,
  specs: readonly TopicSpec[],
  logger?: Logger,
): Promise<EnsureTopicsReport> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await ensureTopicsWith(admin, specs, logger);
  } finally {
    await admin.disconnect();
  }
}

export async function ensureTopicsWith(
  admin: Admin,
  specs: readonly TopicSpec[],
  logger?: Logger,
): Promise<EnsureTopicsReport> {
  const present = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !present.has(s.topic));
  if (missing.length > 0) {
    // false means another process created some of them first; the checks below cover that case.
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.numPartitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.configEntries).map(([name, value]) => ({ name, value })),
      })),
    });
    logger?.info({ topics: missing.map((s) => s.topic) }, 'created topics');
  }
  const existing = specs.filter((s) => present.has(s.topic));
  const reconfigured: string[] = [];
  if (existing.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: existing.map((s) => s.topic) });
    for (const spec of existing) {
      const found = metadata.topics.find((t) => t.name === spec.topic);
      const partitions = found?.partitions.length ?? 0;
      if (partitions !== spec.numPartitions) {
        throw new RainstreamError(
          'TOPIC_MISMATCH',
          `topic ${spec.topic} has ${partitions} partitions, the spec says ${spec.numPartitions}`,
          { details: { topic: spec.topic, partitions, expected: spec.numPartitions } },
        );
      }
    }
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: existing.map((s) => ({
        type: TOPIC_RESOURCE,
        name: s.topic,
        configNames: Object.keys(s.configEntries),
      })),
    });
    for (const spec of existing) {
      const resource = described.resources.find((r) => r.resourceName === spec.topic);
      const actual = new Map(resource?.configEntries.map((e) => [e.configName, e.configValue]) ?? []);
      const differs = Object.entries(spec.configEntries).some(([name, value]) => actual.get(name) !== value);
      if (!differs) continue;
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: TOPIC_RESOURCE,
            name: spec.topic,
            configEntries: Object.entries(spec.configEntries).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      reconfigured.push(spec.topic);
    }
    if (reconfigured.length > 0) logger?.info({ topics: reconfigured }, 'set topic configs to spec');
  }
  return {
    created: missing.map((s) => s.topic),
    existing: existing.map((s) => s.topic),
    reconfigured,
  };
}
