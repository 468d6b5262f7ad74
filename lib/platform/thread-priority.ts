/**
 * Background work at a lower CPU priority than the stream. On two cores a full refit (seconds of GBDT)
 * beside the stages takes a core from the label join the replay waits on; at a higher nice value the
 * scheduler gives the refit what the stages leave idle, and it still finishes when the machine is quiet.
 *
 * Linux keeps a nice value per thread, and setpriority(2) takes a thread id where it takes a process id:
 * `/proc/thread-self` names the calling thread (`<pid>/task/<tid>`), so a worker thread can lower itself
 * alone, and the threads it starts afterwards inherit its value.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** What lowering did: the thread's new nice value, or why it was left as it was. */
export type PriorityOutcome =
  { lowered: true; tid: number; niceness: number } | { lowered: false; why: string };

/** Lowers the calling thread's priority to `niceness` (0..19); never throws (the work runs either way). */
export function lowerThreadPriority(niceness: number): PriorityOutcome {
  if (!Number.isInteger(niceness) || niceness < 0 || niceness > 19)
    return { lowered: false, why: `niceness must be an integer in 0..19, got ${niceness}` };
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { lowered: false, why: 'no /proc/thread-self (not Linux)' };
  }
  if (!Number.isInteger(tid) || tid <= 0) return { lowered: false, why: 'unreadable thread id' };
  try {
    setPriority(tid, niceness);
    return { lowered: true, tid, niceness };
  } catch (err) {
    return { lowered: false, why: err instanceof Error ? err.message : String(err) };
  }
}
