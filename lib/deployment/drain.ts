/**
 * What the demo, the end-to-end test and the benchmarks do after a replay: wait until the pipeline has
 * drained into ClickHouse (the figures users see come from the store, not from counters in memory).
 */
import type { SqlRunner } from '../platform/clickhouse/client.ts';
import { addDays } from '../domain/time.ts';
import { outputProgress, tableCounts } from '../platform/clickhouse/queries/pipeline.ts';
import { trainingProgress } from '../platform/clickhouse/queries/training.ts';
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

/** What a replay makes the pipeline owe, and how to tell that it is at rest. */
export interface SettleTarget {
  /** Predictions: one per observation replayed. */
  predictions: number;
  /** Labeled examples: predictions whose next day was replayed with a known RainToday (expectedLabels). */
  labels: number;
  /** True once every stage's consumer group has read its topics to the end (lag 0), drift included. */
  idle: () => Promise<boolean>;
  /** The trainer's week grace (BOUNDARY_GRACE_DAYS), to know which weekly run the labels make due. */
  graceDays: number;
  /** The tasks whose due weekly run must be recorded (default rain's). */
  tasks?: readonly string[];
  /** Give up after this long without progress (the figures are then reported as they stand). */
  stallMs?: number;
  pollMs?: number;
  /** Told what is still awaited, when it changes. */
  onWaiting?: (what: string) => void;
}

export interface SettleResult {
  counts: Record<string, number>;
  /** False when it stalled: `waitingFor` says on what. */
  settled: boolean;
  waitingFor: string[];
}

/**
 * Resolves once predictions and labels reached the expected counts, every stage (drift too) has read its
 * input to the end, and the weekly run the labels make due is recorded, or once nothing moved for
 * `stallMs` (then settled is false, and the caller reports what it has with the reason).
 */
export async function waitForSettled(runner: SqlRunner, target: SettleTarget): Promise<SettleResult> {
  const pollMs = target.pollMs ?? 500;
  const stallMs = target.stallMs ?? 120_000;
  let last = '';
  let lastChange = Date.now();
  let told = '';
  for (;;) {
    const idle = await target.idle();
    const [progress, training] = await Promise.all([
      outputProgress(runner),
      trainingProgress(runner, target.graceDays, target.tasks),
    ]);
    const waitingFor: string[] = [];
    if (progress.predictions < target.predictions)
      waitingFor.push(`predictions ${progress.predictions}/${target.predictions}`);
    if (progress.labeled < target.labels) waitingFor.push(`labels ${progress.labeled}/${target.labels}`);
    if (!idle) waitingFor.push('stages reading');
    const trainedUntil = training.runs > 0 ? training.trainedUntil : null;
    if (training.reachableUntil !== null && (trainedUntil === null || trainedUntil < training.reachableUntil))
      waitingFor.push(`training to ${training.reachableUntil} (at ${trainedUntil ?? 'none'})`);
    if (waitingFor.length === 0) {
      // Raw counts can include re-delivered rows: the de-duplicated ones decide.
      const counts = await tableCounts(runner);
      if (counts.predictions >= target.predictions && counts.labeled_examples >= target.labels)
        return { counts, settled: true, waitingFor };
      waitingFor.push('de-duplicated counts');
    }
    const now = Date.now();
    const signature = `${progress.predictions}|${progress.actuals}|${progress.labeled}|${idle}|${training.trainedUntil}|${training.runs}`;
    if (signature !== last) {
      last = signature;
      lastChange = now;
    }
    const what = waitingFor.join(', ');
    if (what !== told) {
      told = what;
      target.onWaiting?.(what);
    }
    if (now - lastChange > stallMs) return { counts: await tableCounts(runner), settled: false, waitingFor };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Labeled examples a replay of these observations yields: the label of (station, D) is the RainToday of
 * (station, D+1), so D's prediction is labeled when D+1 was replayed with a known RainToday.
 */
export function expectedLabels(
  observations: Iterable<{ location: string; date: string; rainToday: boolean | null }>,
): number {
  const known = new Map<string, boolean>();
  const all: { location: string; date: string }[] = [];
  for (const o of observations) {
    known.set(`${o.location}|${o.date}`, o.rainToday !== null);
    all.push(o);
  }
  let n = 0;
  for (const o of all) if (known.get(`${o.location}|${addDays(o.date, 1)}`) === true) n++;
  return n;
}
