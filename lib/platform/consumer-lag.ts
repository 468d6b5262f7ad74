/**
 * Consumer lag: per group, topic and partition, how many records lie between the group's committed
 * offset and the end of the partition. A group that never committed is behind by everything still
 * retained (end - start). Read with the admin client; the caller owns (and connects) it.
 */
import type { Admin } from './kafka/client.ts';

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number;
  end: number;
  lag: number;
}

export interface GroupLag {
  groupId: string;
  partitions: PartitionLag[];
  /** Sum over partitions. */
  lag: number;
}

export interface TopicEnd {
  topic: string;
  partition: number;
  start: number;
  end: number;
}

/** Lag of one partition from its offsets (pure). `committed` -1 = nothing committed yet. */
export function partitionLag(committed: number, start: number, end: number): number {
  if (committed < 0) return Math.max(0, end - start);
  return Math.max(0, end - committed);
}

export async function topicEnds(admin: Admin, topics: readonly string[]): Promise<Map<string, TopicEnd[]>> {
  const out = new Map<string, TopicEnd[]>();
  await Promise.all(
    [...new Set(topics)].map(async (topic) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      out.set(
        topic,
        offsets.map((o) => ({ topic, partition: o.partition, start: Number(o.low), end: Number(o.high) })),
      );
    }),
  );
  return out;
}

export async function consumerLag(
  admin: Admin,
  groups: readonly { groupId: string; topics: readonly string[] }[],
  ends?: Map<string, TopicEnd[]>,
): Promise<GroupLag[]> {
  const allTopics = groups.flatMap((g) => g.topics);
  const endsByTopic = ends ?? (await topicEnds(admin, allTopics));
  return Promise.all(
    groups.map(async (g) => {
      const committed = await admin.fetchOffsets({ groupId: g.groupId, topics: [...g.topics] });
      const partitions: PartitionLag[] = [];
      for (const entry of committed) {
        const byPartition = new Map((endsByTopic.get(entry.topic) ?? []).map((e) => [e.partition, e]));
        for (const p of entry.partitions) {
          const end = byPartition.get(p.partition);
          if (!end) continue;
          const offset = Number(p.offset);
          partitions.push({
            topic: entry.topic,
            partition: p.partition,
            committed: offset,
            end: end.end,
            lag: partitionLag(offset, end.start, end.end),
          });
        }
      }
      return { groupId: g.groupId, partitions, lag: partitions.reduce((s, p) => s + p.lag, 0) };
    }),
  );
}
