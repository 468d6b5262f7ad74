/**
 * How far behind the pipeline is: per stage, the records of its input topic its group has not committed
 * yet. Sampled through a run, it says when a fault's effect ended: the first progress after the fault
 * (the partitions were taken over, the dependency is used again) and the moment the pipeline caught up.
 */
import type { Config } from '../../lib/platform/config.ts';
import type { Kafka } from '../../lib/platform/kafka/client.ts';

export const LAGGED_STAGES = [
  ['features', 'observations'],
  ['predictor', 'features'],
  ['labeler', 'predictions'],
] as const;

export interface LagSample {
  at: number;
  /** Per stage: records not committed yet. */
  lag: Record<string, number>;
  /** Per stage: records committed so far (sum over partitions). */
  committed: Record<string, number>;
  /** Per stage: end offsets of its input topic (sum over partitions). */
  ends: Record<string, number>;
}

export interface LagSampler {
  samples: LagSample[];
  stop(): Promise<void>;
}

export async function sampleLag(kafka: Kafka, config: Config, intervalMs = 250): Promise<LagSampler> {
  const admin = kafka.admin();
  await admin.connect();
  const samples: LagSample[] = [];
  let stopped = false;
  const once = async () => {
    const lag: Record<string, number> = {};
    const committed: Record<string, number> = {};
    const endSums: Record<string, number> = {};
    for (const [stage, input] of LAGGED_STAGES) {
      const topic = config.topics[input];
      const [ends, [offsets]] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: `${config.groupPrefix}.${stage}`, topics: [topic] }),
      ]);
      let behind = 0;
      let done = 0;
      let high = 0;
      for (const end of ends) {
        high += Number(end.high);
        const c = Number(offsets?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        const from = c < 0 ? Number(end.low) : c;
        behind += Math.max(0, Number(end.high) - from);
        done += Math.max(0, from);
      }
      lag[stage] = behind;
      committed[stage] = done;
      endSums[stage] = high;
    }
    samples.push({ at: Date.now(), lag, committed, ends: endSums });
  };
  const loop = (async () => {
    while (!stopped) {
      // A broker that is away fails the sample: that moment is simply not sampled.
      await once().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      await admin.disconnect().catch(() => undefined);
    },
  };
}

export const totalLag = (s: LagSample) => Object.values(s.lag).reduce((a, b) => a + b, 0);

/** Records a stage may be "behind" when idle: the commit marker after each partition's last record. */
const IDLE_LAG = 6;

/**
 * First sample after `since` where every stage has made progress since: committed more than it had at
 * the first sample taken after `since`, or, with no new input since, is idle. That is when the partitions
 * were taken over (a process restarted) or the dependency is in use again. The baseline is a sample from
 * after the fault, not the last one before it: on a busy machine a sample can be a second old, and work
 * committed between it and a SIGKILL would count as a takeover that never happened.
 */
export function firstProgressAfter(samples: readonly LagSample[], since: number): LagSample | undefined {
  const before = samples.find((s) => s.at > since);
  if (!before) return undefined;
  return samples.find(
    (s) =>
      s.at > before.at &&
      LAGGED_STAGES.every(
        ([stage]) =>
          (s.committed[stage] ?? 0) > (before.committed[stage] ?? 0) ||
          ((s.ends[stage] ?? 0) === (before.ends[stage] ?? 0) && (s.lag[stage] ?? 0) <= IDLE_LAG),
      ),
  );
}

/**
 * First sample after the first progress since `since` whose total lag is at most `threshold` records (one
 * second of input at the replay's pace): the pipeline has caught up with what was produced meanwhile.
 */
export function caughtUpAfter(
  samples: readonly LagSample[],
  since: number,
  threshold: number,
): LagSample | undefined {
  const progress = firstProgressAfter(samples, since);
  if (!progress) return undefined;
  return samples.find((s) => s.at >= progress.at && totalLag(s) <= threshold);
}
