/**
 * Pipeline health as an operator reads it: consumer lag per stage (group, topic, partition), records
 * appended per second to each topic (end offsets sampled on each call, rate over the last minute), and
 * DLQ counts by reason. Answers are cached for a few seconds: a dashboard refreshing, a Prometheus scrape
 * and a person reloading cost Kafka one round of admin requests.
 */
import { consumerLag, topicEnds } from '../../lib/platform/consumer-lag.ts';
import type { Admin } from '../../lib/platform/kafka/client.ts';
import type { StageGroup } from '../../lib/deployment/consumer-groups.ts';
import type { PipelineBody } from '../schemas.ts';
import type { DlqTally } from './dlq-tally.ts';

export interface PipelineService {
  health(): Promise<PipelineBody>;
}

export interface OffsetSample {
  at: number;
  records: number;
}

/** Records per second between the oldest sample within `windowMs` and the newest (pure). */
export function ratePerSecond(samples: readonly OffsetSample[], windowMs: number): number | null {
  if (samples.length < 2) return null;
  const newest = samples[samples.length - 1]!;
  const oldest = samples.find((s) => newest.at - s.at <= windowMs) ?? samples[0]!;
  const dt = (newest.at - oldest.at) / 1000;
  return dt <= 0 ? null : Math.max(0, (newest.records - oldest.records) / dt);
}

const RATE_WINDOW_MS = 60_000;
const CACHE_MS = 2_000;

export function createPipelineService(deps: {
  admin: () => Promise<Admin>;
  groups: readonly StageGroup[];
  topics: readonly string[];
  dlq: DlqTally | null;
  clock: () => number;
}): PipelineService {
  const samples = new Map<string, OffsetSample[]>();
  let cached: { at: number; body: Promise<PipelineBody> } | null = null;

  const measure = async (): Promise<PipelineBody> => {
    const admin = await deps.admin();
    const now = deps.clock();
    const allTopics = [...new Set([...deps.topics, ...deps.groups.flatMap((g) => g.topics)])];
    const ends = await topicEnds(admin, allTopics);
    const lags = await consumerLag(admin, deps.groups, ends);
    const topics = deps.topics.map((topic) => {
      const records = (ends.get(topic) ?? []).reduce((s, p) => s + p.end, 0);
      let list = samples.get(topic);
      if (!list) samples.set(topic, (list = []));
      list.push({ at: now, records });
      while (list.length > 2 && now - list[0]!.at > RATE_WINDOW_MS * 2) list.shift();
      return { topic, records, perSecond: ratePerSecond(list, RATE_WINDOW_MS) };
    });
    return {
      checkedAt: now,
      stages: deps.groups.map((g, i) => ({
        stage: g.stage,
        groupId: g.groupId,
        lag: lags[i]!.partitions.length === 0 ? null : lags[i]!.lag,
        partitions: lags[i]!.partitions,
      })),
      topics,
      dlq: { total: deps.dlq?.total() ?? 0, reasons: deps.dlq?.reasons() ?? [] },
    };
  };

  return {
    health() {
      const now = deps.clock();
      if (cached === null || now - cached.at > CACHE_MS) {
        const body = measure();
        cached = { at: now, body };
        body.catch(() => {
          if (cached?.body === body) cached = null;
        });
      }
      return cached.body;
    },
  };
}
