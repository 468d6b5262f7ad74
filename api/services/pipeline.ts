/**
 * Pipeline health as an operator reads it: consumer lag per stage (group, topic, partition), records
 * appended per second to each topic (end offsets sampled on each call, rate over the last minute), and
 * DLQ counts by reason. Answers are cached for a few seconds: a dashboard refreshing, a Prometheus scrape
 * and a person reloading cost Kafka one round of admin requests; past that, the last answer is served while
 * the next is measured.
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
/** Oldest answer served while a fresh one is being measured. */
const STALE_MS = 30_000;

export function createPipelineService(deps: {
  admin: () => Promise<Admin>;
  groups: readonly StageGroup[];
  topics: readonly string[];
  dlq: DlqTally | null;
  clock: () => number;
}): PipelineService {
  const samples = new Map<string, OffsetSample[]>();

  const measure = async (): Promise<PipelineBody> => {
    // The DLQ tally before the topic ends: the ends then cover every record the tally counted.
    const dlq = { total: deps.dlq?.total() ?? 0, reasons: deps.dlq?.reasons() ?? [] };
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
      dlq,
    };
  };

  // Stale while revalidate: an answer younger than CACHE_MS is served as is; an older one (up to STALE_MS)
  // is served while a fresh one is measured in the background, so a page never waits on Kafka's admin
  // round trips once one answer exists; older than that, the caller waits for the fresh one.
  let last: { at: number; body: PipelineBody } | null = null;
  let inFlight: Promise<PipelineBody> | null = null;
  const refresh = (): Promise<PipelineBody> => {
    inFlight ??= measure().then(
      (body) => {
        last = { at: body.checkedAt, body };
        inFlight = null;
        return body;
      },
      (error: unknown) => {
        inFlight = null;
        throw error;
      },
    );
    return inFlight;
  };

  return {
    health() {
      const now = deps.clock();
      if (last !== null && now - last.at <= CACHE_MS) return Promise.resolve(last.body);
      const fresh = refresh();
      if (last !== null && now - last.at <= STALE_MS) {
        fresh.catch(() => undefined);
        return Promise.resolve(last.body);
      }
      return fresh;
    },
  };
}
