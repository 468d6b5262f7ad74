/**
 * "Has this consumer read the log as it stood when it started?": end offsets captured once, at the start,
 * and the consumer's progress against them. A stage whose in-memory state is rebuilt from a topic at every
 * start (the trainer's labeled history) must not act on a partial state: it reads until caught up, and
 * only then decides anything (a week's training on a fully rebuilt history, with the rows it had).
 *
 * Use: `const catchUp = await catchUpWith(kafka, topic)` before starting the consumer; pass
 * `onProgress: catchUp.onProgress` to runBatchConsumer; `catchUp.caughtUp` resolves (and
 * `catchUp.isCaughtUp()` turns true) once every partition was read up to its captured end.
 */
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import { createLogPositions } from '../../lib/platform/kafka/offsets.ts';

export interface CatchUp {
  /** End offset of each partition when the catch-up started (records below it are the history). */
  readonly targets: ReadonlyMap<number, bigint>;
  /** Feed with the consumer's progress (runBatchConsumer's onProgress). */
  onProgress(progress: { partition: number; lastOffset: bigint }): void;
  isCaughtUp(): boolean;
  readonly caughtUp: Promise<void>;
}

/** Tracks progress against fixed targets; pure, so tested without Kafka. */
export function catchUpTracker(
  targets: ReadonlyMap<number, bigint>,
  logStarts?: ReadonlyMap<number, bigint>,
): CatchUp {
  const pending = new Set([...targets].filter(([p, end]) => end > (logStarts?.get(p) ?? 0n)).map(([p]) => p));
  let resolve!: () => void;
  const caughtUp = new Promise<void>((r) => (resolve = r));
  if (pending.size === 0) resolve();
  return {
    targets,
    caughtUp,
    isCaughtUp: () => pending.size === 0,
    onProgress({ partition, lastOffset }) {
      const end = targets.get(partition);
      if (end === undefined || lastOffset + 1n < end || !pending.delete(partition)) return;
      if (pending.size === 0) resolve();
    },
  };
}

/** Captures `topic`'s end offsets now and returns the tracker of a consumer reading it from the start. */
export async function catchUpWith(kafka: Kafka, topic: string): Promise<CatchUp> {
  const positions = createLogPositions(kafka);
  try {
    const ends = await positions.ends(topic);
    return catchUpTracker(
      new Map([...ends].map(([p, { high }]) => [p, high])),
      new Map([...ends].map(([p, { low }]) => [p, low])),
    );
  } finally {
    await positions.close();
  }
}
