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

/** What the gate knows of the deployment when it decides. */
export interface GateFacts {
  /** Latest prediction date in the store. */
  predicted: string;
  /** The stages between the replay and the labels have nothing left to read (consumer lag 0). */
  pipelineIdle: boolean;
  /** Data end of the newest weekly run the labels in the store make due; null while none is. */
  reachableUntil: string | null;
  /** Data end of the newest recorded weekly run; null before the first. */
  trainedUntil: string | null;
}

export type GateVerdict = 'go' | 'wait-pipeline' | 'wait-training';

/**
 * Day D may go out once the weekly retraining has data up to `needed` = D - leadDays, lowered to what the
 * labels make reachable: a week's run needs a label dated into the next week, and a hole in the data
 * (weatherAUS has no April 2011) closes no week at all. The labels only say what is reachable once the
 * pipeline has predicted and labeled every day sent (`previousDate` the last of them), so until then the
 * gate waits for the pipeline, not for the retraining.
 */
export function gateVerdict(needed: string, previousDate: string, facts: GateFacts): GateVerdict {
  if (facts.trainedUntil !== null && needed <= facts.trainedUntil) return 'go';
  if (!(facts.predicted >= previousDate) || !facts.pipelineIdle) return 'wait-pipeline';
  if (facts.reachableUntil === null) return 'go';
  const target = facts.reachableUntil < needed ? facts.reachableUntil : needed;
  return facts.trainedUntil !== null && target <= facts.trainedUntil ? 'go' : 'wait-training';
}

/**
 * Whether day `date` can need a wait at all. The run it needs (data up to date - leadDays) is the run of
 * the first boundary Monday B >= date - leadDays + 1, and the trainer starts that run only on a label
 * dated B + graceDays, which exists once day B + graceDays + 1 was sent. While it was not, no wait can make
 * that run happen: the day goes without asking the store (one wait per week, not one per day).
 */
export function canNeedWait(
  date: string,
  previousDate: string,
  leadDays: number,
  graceDays: number,
): boolean {
  const earliest = addDays(date, -leadDays + 1);
  const boundary = mondayOf(earliest) === earliest ? earliest : addDays(mondayOf(earliest), 7);
  return previousDate >= addDays(boundary, graceDays + 1);
}

export interface TrainingGateOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /**
   * Whether the stages up to the label join have read everything (their consumer lag is 0). Without it
   * the gate trusts the latest prediction date alone, and a label join running behind can let the replay
   * on before the week it has not labeled yet is trained (runs coalesce).
   */
  pipelineIdle?: () => Promise<boolean>;
  /**
   * The tasks whose weekly runs the replay waits for (default rain's). A gated replay measures weekly
   * retraining, so the demo and bench:prequential pass every configured task: each task's every week is
   * retrained in a run of its own, and a task's slow run shows as gate time instead of coalesced weeks.
   * The tasks train in parallel (one worker each), so the wait is that of the slowest task's run.
   */
  tasks?: readonly string[];
}

/** Where a gated replay spent its waits: the figure that says whether the pipeline or the training paces it. */
export interface GateWaits {
  /** Waits that happened (at most one per event-time week). */
  waits: number;
  /** Milliseconds waiting for the stages up to the label join to read what was sent. */
  pipelineMs: number;
  /** Milliseconds waiting for the weekly training run (after the pipeline was idle). */
  trainingMs: number;
}

export type TrainingGate = ((
  date: string,
  previousDate: string | null,
  beforeWaiting: () => Promise<void>,
) => Promise<void>) & { readonly waits: GateWaits };

/**
 * The gate for `maxLeadDays`, polling ClickHouse (and the pipeline's lag) until `gateVerdict` says go.
 * `beforeWaiting` runs once before the first poll of a wait: the replay flushes what it holds, since the
 * retraining waits on exactly those days.
 */
export function trainingGate(
  clickhouse: SqlRunner,
  leadDays: number,
  options: TrainingGateOptions = {},
): TrainingGate {
  let reached: string | null = null;
  const waits: GateWaits = { waits: 0, pipelineMs: 0, trainingMs: 0 };
  const gate = async (date: string, previousDate: string | null, beforeWaiting: () => Promise<void>) => {
    const needed = addDays(date, -leadDays);
    if (previousDate === null || (reached !== null && needed <= reached)) return;
    if (!canNeedWait(date, previousDate, leadDays, BOUNDARY_GRACE_DAYS)) return;
    await beforeWaiting();
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    waits.waits++;
    let last = performance.now();
    let waitingFor: GateVerdict | null = null;
    let idle = false;
    for (;;) {
      // Idle first, labels after: labels read before the pipeline went idle could miss its last writes.
      // Nothing is sent while the replay waits, so stages once idle stay idle: not asked again.
      idle ||= options.pipelineIdle ? await options.pipelineIdle() : true;
      const progress = await trainingProgress(clickhouse, BOUNDARY_GRACE_DAYS, options.tasks);
      if (progress.runs > 0) reached = progress.trainedUntil;
      const verdict = gateVerdict(needed, previousDate, {
        predicted: progress.predicted,
        pipelineIdle: idle,
        reachableUntil: progress.reachableUntil,
        trainedUntil: reached,
      });
      const now = performance.now();
      // The time since the previous poll is charged to what that poll said it waited for.
      if ((waitingFor ?? verdict) === 'wait-pipeline') waits.pipelineMs += now - last;
      else waits.trainingMs += now - last;
      last = now;
      waitingFor = verdict;
      if (verdict === 'go') return;
      if (Date.now() > deadline) {
        throw new RainstreamError(
          'TIMEOUT',
          verdict === 'wait-pipeline'
            ? `the pipeline did not predict and label up to ${previousDate} in time`
            : `retraining did not reach ${needed} in time (at ${reached ?? 'none'})`,
        );
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
    }
  };
  return Object.assign(gate, { waits });
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
