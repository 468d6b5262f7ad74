import type { MetricsReport } from './metrics.ts';
import type { Task } from './model.ts';
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

/**
 * Model selection as pure functions: candidates trained in one retraining compete on the same
 * chronological validation window; a composite score picks the winner; quality gates decide whether
 * the winner replaces the champion. The decision carries its reasons so a model event can explain it.
 */

export class SelectionError extends TypedError<'SELECTION'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('SELECTION', message, options);
  }
}

export interface Candidate {
  /** Identifies the candidate in reasons and tables: a family name, or family@version for a champion. */
  readonly name: string;
  readonly family: string;
  readonly task: Task;
  /** Figures on the validation window; absent when training failed (then `error` says why). */
  readonly metrics?: MetricsReport;
  readonly trainSeconds: number;
  /** Which window the metrics come from (e.g. "2016-01-01..2016-03-31"); champion and candidates must agree. */
  readonly window: string;
  readonly error?: string;
  /** How the candidate was trained (warm start or full fit, rows, artifact size): carried to the table. */
  readonly training?: CandidateTraining;
}

export interface CandidateTraining {
  readonly mode: 'warm' | 'full';
  /** Rows the fit used (a warm start sees only the rows its base has not learned from). */
  readonly rows: number;
  readonly seconds: number;
  readonly artifactBytes: number;
  /** The version a warm start continued. */
  readonly base?: string;
}

export interface SelectionPolicy {
  /** Lowest primary figure a winner may have: ROC AUC for classification, -RMSE for regression. */
  readonly minPrimary: Readonly<Record<Task, number>>;
  /** Classification only: score loses brierWeight * Brier + eceWeight * ECE. */
  readonly brierWeight: number;
  readonly eceWeight: number;
  /** Score lost per training second, so a slower family must earn its cost in quality. */
  readonly costPerSecond: number;
  /** The winner may trail the champion's primary figure by this much and still be promoted (fresher data). */
  readonly championTolerance: number;
}

export const DEFAULT_POLICY: SelectionPolicy = {
  minPrimary: { classification: 0.7, regression: -Infinity },
  brierWeight: 1,
  eceWeight: 0.5,
  costPerSecond: 1e-4,
  championTolerance: 0.002,
};

export interface ScoredRow {
  readonly name: string;
  readonly family: string;
  readonly primary: number;
  readonly calibrationPenalty: number;
  readonly costPenalty: number;
  /** primary - calibrationPenalty - costPenalty; NaN when the candidate is not eligible. */
  readonly score: number;
  readonly trainSeconds: number;
  readonly eligible: boolean;
  /** Why a candidate is not eligible, empty otherwise. */
  readonly note: string;
  readonly training?: CandidateTraining;
}

export interface SelectionDecision {
  readonly winner: ScoredRow | null;
  readonly promote: boolean;
  readonly reasons: string[];
  /** Candidates, best score first (ineligible ones last), for logs and the model event. */
  readonly table: ScoredRow[];
  /** The champion on the same window, when one was given. */
  readonly champion: ScoredRow | null;
}

/** The primary figure: higher is better for both tasks. */
export function primaryMetric(metrics: MetricsReport): number {
  return metrics.task === 'classification' ? metrics.rocAuc : -metrics.rmse;
}

export function scoreCandidate(c: Candidate, policy: SelectionPolicy): ScoredRow {
  const base = {
    name: c.name,
    family: c.family,
    trainSeconds: c.trainSeconds,
    ...(c.training ? { training: c.training } : {}),
  };
  const ineligible = (note: string): ScoredRow => ({
    ...base,
    primary: NaN,
    calibrationPenalty: NaN,
    costPenalty: NaN,
    score: NaN,
    eligible: false,
    note,
  });
  if (c.error !== undefined) return ineligible(`training failed: ${c.error}`);
  if (c.metrics === undefined) return ineligible('no validation metrics');
  if (c.metrics.task !== c.task)
    return ineligible(`metrics are for ${c.metrics.task}, candidate is ${c.task}`);
  const primary = primaryMetric(c.metrics);
  if (!Number.isFinite(primary)) return ineligible('primary metric is not finite (one class in the window?)');
  const m = c.metrics;
  const calibrationPenalty =
    m.task === 'classification' ? policy.brierWeight * m.brier + policy.eceWeight * m.ece : 0;
  const costPenalty = policy.costPerSecond * Math.max(0, c.trainSeconds);
  return {
    ...base,
    primary,
    calibrationPenalty,
    costPenalty,
    score: primary - calibrationPenalty - costPenalty,
    eligible: true,
    note: '',
  };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

/**
 * Picks the best-scoring eligible candidate, then applies the gates: its primary figure must reach the
 * task's minimum, and must not trail the champion's (scored on the same window) by more than the
 * tolerance. Without a champion, a winner that passes the minimum is promoted.
 */
export function selectModel(
  candidates: readonly Candidate[],
  champion: Candidate | null,
  policy: SelectionPolicy = DEFAULT_POLICY,
): SelectionDecision {
  if (candidates.length === 0) throw new SelectionError('no candidates to select from');
  const task = candidates[0]!.task;
  const window = candidates[0]!.window;
  for (const c of candidates) {
    if (c.task !== task)
      throw new SelectionError(`candidates mix tasks: ${c.name} is ${c.task}, expected ${task}`);
    if (c.window !== window) {
      throw new SelectionError(
        `candidates were scored on different windows: ${c.name} on ${c.window}, not ${window}`,
      );
    }
  }
  const scored = candidates.map((c) => scoreCandidate(c, policy));
  const table = [...scored].sort((a, b) => {
    if (a.eligible !== b.eligible) return a.eligible ? -1 : 1;
    if (!a.eligible) return a.name.localeCompare(b.name);
    // Equal scores: the cheaper training wins, then the name, so the order never depends on input order.
    return b.score - a.score || a.trainSeconds - b.trainSeconds || a.name.localeCompare(b.name);
  });
  const reasons: string[] = [];
  for (const row of table) if (!row.eligible) reasons.push(`${row.name} not eligible: ${row.note}`);

  const scoredChampion = champion === null ? null : scoreCandidate(champion, policy);
  const winner = table[0]!.eligible ? table[0]! : null;
  if (winner === null) {
    reasons.push('no eligible candidate');
    return { winner, promote: false, reasons, table, champion: scoredChampion };
  }
  reasons.push(
    `${winner.name} wins with score ${fmt(winner.score)} (primary ${fmt(winner.primary)}, ` +
      `calibration -${fmt(winner.calibrationPenalty)}, cost -${fmt(winner.costPenalty)})`,
  );

  let promote = true;
  const minimum = policy.minPrimary[task];
  if (winner.primary < minimum) {
    promote = false;
    reasons.push(`primary ${fmt(winner.primary)} is below the ${task} minimum ${fmt(minimum)}`);
  } else reasons.push(`primary ${fmt(winner.primary)} reaches the ${task} minimum ${fmt(minimum)}`);

  if (champion !== null && scoredChampion !== null) {
    if (champion.task !== task) {
      throw new SelectionError(`champion ${champion.name} is ${champion.task}, candidates are ${task}`);
    }
    if (champion.window !== window) {
      promote = false;
      reasons.push(
        `champion ${champion.name} was scored on ${champion.window}, not ${window}: no fair comparison`,
      );
    } else if (!scoredChampion.eligible) {
      reasons.push(
        `champion ${champion.name} could not be scored (${scoredChampion.note}): not a bar to promotion`,
      );
    } else if (winner.primary < scoredChampion.primary - policy.championTolerance) {
      promote = false;
      reasons.push(
        `primary ${fmt(winner.primary)} trails champion ${champion.name} (${fmt(scoredChampion.primary)}) ` +
          `by more than the tolerance ${fmt(policy.championTolerance)}`,
      );
    } else {
      reasons.push(
        `primary ${fmt(winner.primary)} holds against champion ${champion.name} (${fmt(scoredChampion.primary)}, ` +
          `tolerance ${fmt(policy.championTolerance)})`,
      );
    }
  } else reasons.push('no champion yet');

  return { winner, promote, reasons, table, champion: scoredChampion };
}
