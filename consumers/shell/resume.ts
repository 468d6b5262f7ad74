/**
 * Where a keyed stage resumes a partition, from two positions: the group's committed offset (what Kafka
 * says is done: outputs and offsets were committed together) and the state marker (the offset up to which
 * the stage's Redis state reflects the log, written with the state, after the commit). Pure: the runtime
 * reads both, asks here, and seeks.
 *
 * The state is written after the transaction commits, so the marker is normally equal to the committed
 * offset, and behind it only when a process died (or Redis failed) between the commit and the state write:
 * the records in between are re-applied to the state alone, their outputs being already committed.
 */
export type ResumePlan =
  /** The state reflects exactly what was committed: go on from the committed offset. */
  | { kind: 'in-step'; from: bigint; until: bigint; fresh: false }
  /** The state is behind the commit: re-apply [from, until) to the state only, then go on. */
  | { kind: 'catch-up'; from: bigint; until: bigint; fresh: false }
  /**
   * The state is gone (Redis lost it) or ahead of the log (offsets moved back by hand): rebuild it from
   * the start of the log up to the committed offset, ignoring what Redis holds for the stations it meets.
   */
  | { kind: 'rebuild'; from: bigint; until: bigint; fresh: true };

/**
 * @param marker   offset the state reflects, null when Redis has no marker for the partition
 * @param committed the group's committed offset, null when it never committed on the partition
 * @param logStart first offset the partition still holds
 */
export function planResume(marker: bigint | null, committed: bigint | null, logStart: bigint): ResumePlan {
  // Never committed: nothing was emitted, whatever state exists was never acknowledged by Kafka either.
  // The group starts from the log's start; the state, if any, is kept (a re-run of a deployment whose
  // groups were deleted de-duplicates against it, as a replay of the same days does).
  if (committed === null) return { kind: 'in-step', from: logStart, until: logStart, fresh: false };
  const until = committed < logStart ? logStart : committed;
  if (marker === null || marker > until) {
    return until > logStart
      ? { kind: 'rebuild', from: logStart, until, fresh: true }
      : { kind: 'in-step', from: until, until, fresh: false };
  }
  if (marker < until && marker >= logStart) return { kind: 'catch-up', from: marker, until, fresh: false };
  if (marker < logStart) return { kind: 'rebuild', from: logStart, until, fresh: true };
  return { kind: 'in-step', from: until, until, fresh: false };
}
