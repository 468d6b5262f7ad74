/**
 * What keeps a replay honest about retraining: wait for the first trained champion after the warm-up, and
 * never run more than a given number of days ahead of the weekly training runs.
 */
import { addDays, mondayOf } from '../../lib/domain/time.ts';
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { modelOfAlias } from '../../lib/platform/clickhouse/queries/models.ts';
import { trainingProgress } from '../../lib/platform/clickhouse/queries/training.ts';
import { RainstreamError } from '../../lib/platform/errors.ts';
import { BOUNDARY_GRACE_DAYS } from '../../consumers/trainer/step.ts';

/**
 * Gate for `maxLeadDays`: day D may go out once the retraining has caught up with the data sent so far.
 * The target is the training run on data up to D - leadDays, lowered to what the labels in ClickHouse
 * make reachable: a week's run needs a label dated BOUNDARY_GRACE_DAYS past its boundary, and a hole in
 * the data (weatherAUS has no April 2011) yields no labels at all. Before waiting on the retraining, the
 * pipeline must have predicted every day sent, so the labels read are current.
 */
export function trainingGate(
  clickhouse: SqlRunner,
  leadDays: number,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): (date: string, previousDate: string | null, beforeWaiting: () => Promise<void>) => Promise<void> {
  let reached = '';
  return async (date, previousDate, beforeWaiting) => {
    const needed = addDays(date, -leadDays);
    if (previousDate === null || needed <= reached) return;
    await beforeWaiting();
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    for (;;) {
      const state = await trainingProgress(clickhouse);
      if (state.runs > 0) reached = state.trainedUntil;
      if (state.predicted >= previousDate && needed <= reached) return;
      if (state.predicted >= previousDate) {
        // Labels present: the last boundary they let the trainer cross, and the data end of its run.
        if (state.labels === 0) return;
        const firstRun = addDays(mondayOf(addDays(state.labeledFrom, -BOUNDARY_GRACE_DAYS)), 7);
        const lastRun = mondayOf(addDays(state.labeledUntil, -BOUNDARY_GRACE_DAYS));
        if (lastRun < firstRun) return;
        const reachable = addDays(lastRun, -1);
        if ((reachable < needed ? reachable : needed) <= reached) return;
      }
      if (Date.now() > deadline) {
        throw new RainstreamError(
          'TIMEOUT',
          `retraining did not reach ${needed} in time (at ${reached || 'none'})`,
        );
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
    }
  };
}

/** Polls the registry until the champion alias points at a trained model (not the prior baseline). */
export function championPoller(
  clickhouse: SqlRunner,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): () => Promise<void> {
  return async () => {
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    while (Date.now() < deadline) {
      if (await modelOfAlias(clickhouse, 'champion')) return;
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    }
    throw new RainstreamError('TIMEOUT', 'no trained champion appeared before the warm-up timeout');
  };
}
