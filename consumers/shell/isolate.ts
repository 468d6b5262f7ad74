/**
 * Per-record isolation: a stage's step runs on each record alone, and a record whose step throws is set
 * aside with its error (for the DLQ) while the others go on. Pure; the runtime decides what a failure
 * costs (a DLQ record), the step never has to.
 */
export interface Failure<T> {
  item: T;
  index: number;
  error: unknown;
}

/** Calls `apply` on every item in order; returns the items it threw on, with their errors. */
export function stepEach<T>(items: readonly T[], apply: (item: T, index: number) => void): Failure<T>[] {
  const failures: Failure<T>[] = [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index]!;
    try {
      apply(item, index);
    } catch (error) {
      failures.push({ item, index, error });
    }
  }
  return failures;
}
