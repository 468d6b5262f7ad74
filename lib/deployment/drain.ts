/**
 * What the demo, the end-to-end test and the benchmarks do after a replay: wait until the pipeline has
 * drained into ClickHouse (the figures users see come from the store, not from counters in memory).
 */
import type { SqlRunner } from '../platform/clickhouse/client.ts';
import { outputProgress, tableCounts } from '../platform/clickhouse/queries/pipeline.ts';
import { RainstreamError } from '../platform/errors.ts';

export interface DrainTarget {
  predictions: number;
  /** Give up after this long without progress. */
  stallMs?: number;
  pollMs?: number;
}

/**
 * Resolves once ClickHouse holds `predictions` predictions and the label tables have stopped growing
 * (the last day of each station stays pending: its label needs a day that is not in the replay).
 */
export async function waitForDrain(runner: SqlRunner, target: DrainTarget): Promise<Record<string, number>> {
  const pollMs = target.pollMs ?? 250;
  const stallMs = target.stallMs ?? 60_000;
  let last = '';
  let lastChange = Date.now();
  let stableSince = Number.POSITIVE_INFINITY;
  for (;;) {
    const progress = await outputProgress(runner);
    const signature = `${progress.predictions}|${progress.actuals}|${progress.labeled}`;
    const now = Date.now();
    if (signature !== last) {
      last = signature;
      lastChange = now;
      stableSince = now;
    }
    if (progress.predictions >= target.predictions && now - stableSince >= 1_000) {
      const counts = await tableCounts(runner);
      if (counts.predictions >= target.predictions) return counts;
    }
    if (now - lastChange > stallMs) {
      throw new RainstreamError(
        'TIMEOUT',
        `pipeline stalled: ${progress.predictions}/${target.predictions} predictions, ${progress.actuals} actuals after ${stallMs} ms without progress`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
