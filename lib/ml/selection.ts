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
  /** Lowest primary figure a winner may have: ROC AUC for classification, R² for regression. */
  readonly minPrimary: Readonly<Record<Task, number>>;
  /** Classification only: score loses brierWeight * Brier + eceWeight * ECE. */
  readonly brierWeight: number;
  readonly eceWeight: number;
  /** Score lost per training second, so a slower family must earn its cost in quality. */
  readonly costPerSecond: number;
  /** The winner may trail the champion's primary figure by this much and still be promoted (fresher data). */
  readonly championTolerance: number;
  /**
   * The winner must score strictly above the champion's primary figure (after the tolerance): the
   * regression gate "better than the champion". Default false: holding level with it is enough.
   */
  readonly mustBeatChampion?: boolean;
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

/**
 * The primary figure: higher is better for both tasks. R² for regression: on one window it orders
 * candidates exactly as RMSE does (R² = 1 - MSE / variance of that window's targets), and it is the
 * figure the regression gate is stated in.
 */
export function primaryMetric(metrics: MetricsReport): number {
  return metrics.task === 'classification' ? metrics.rocAuc : metrics.r2;
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
 * Applies the gates to the eligible candidates in score order: a candidate's primary figure must reach the
 * task's minimum, and must not trail the champion's (scored on the same window) by more than the
 * tolerance. The best-scoring candidate that passes is promoted; when none passes, the best-scoring one is
 * the winner that is not promoted (the challenger). Gating in score order, not only the top scorer: the
 * score also weighs calibration and cost, so a well-calibrated baseline can outscore a refreshed champion
 * it trails on the primary figure, and must not keep that refresh from being promoted. Without a champion,
 * a winner that passes the minimum is promoted.
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
  if (champion !== null && champion.task !== task) {
    throw new SelectionError(`champion ${champion.name} is ${champion.task}, candidates are ${task}`);
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
  const eligible = table.filter((row) => row.eligible);
  if (eligible.length === 0) {
    reasons.push('no eligible candidate');
    return { winner: null, promote: false, reasons, table, champion: scoredChampion };
  }
  const gated = eligible.map((row) => ({
    row,
    ...gate(row, task, champion, scoredChampion, window, policy),
  }));
  const passing = gated.find((g) => g.pass);
  const chosen = passing ?? gated[0]!;
  const winner = chosen.row;
  for (const g of gated) {
    if (g === chosen) break;
    reasons.push(`${g.row.name} scores higher (${fmt(g.row.score)}) but does not pass: ${g.reasons.at(-1)}`);
  }
  reasons.push(
    `${winner.name} wins with score ${fmt(winner.score)} (primary ${fmt(winner.primary)}, ` +
      `calibration -${fmt(winner.calibrationPenalty)}, cost -${fmt(winner.costPenalty)})`,
  );
  reasons.push(...chosen.reasons);
  return { winner, promote: passing !== undefined, reasons, table, champion: scoredChampion };
}

/** The gates one eligible candidate meets or not, with a reason per gate (the failing one last). */
function gate(
  row: ScoredRow,
  task: Task,
  champion: Candidate | null,
  scoredChampion: ScoredRow | null,
  window: string,
  policy: SelectionPolicy,
): { pass: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const minimum = policy.minPrimary[task];
  if (row.primary < minimum) {
    reasons.push(`primary ${fmt(row.primary)} is below the ${task} minimum ${fmt(minimum)}`);
    return { pass: false, reasons };
  }
  reasons.push(`primary ${fmt(row.primary)} reaches the ${task} minimum ${fmt(minimum)}`);
  if (champion === null || scoredChampion === null) {
    reasons.push('no champion yet');
    return { pass: true, reasons };
  }
  if (champion.window !== window) {
    reasons.push(
      `champion ${champion.name} was scored on ${champion.window}, not ${window}: no fair comparison`,
    );
    return { pass: false, reasons };
  }
  if (!scoredChampion.eligible) {
    reasons.push(
      `champion ${champion.name} could not be scored (${scoredChampion.note}): not a bar to promotion`,
    );
    return { pass: true, reasons };
  }
  if (
    policy.mustBeatChampion === true &&
    !(row.primary > scoredChampion.primary - policy.championTolerance)
  ) {
    reasons.push(
      `primary ${fmt(row.primary)} does not beat champion ${champion.name} (${fmt(scoredChampion.primary)})`,
    );
    return { pass: false, reasons };
  }
  if (row.primary < scoredChampion.primary - policy.championTolerance) {
    reasons.push(
      `primary ${fmt(row.primary)} trails champion ${champion.name} (${fmt(scoredChampion.primary)}) ` +
        `by more than the tolerance ${fmt(policy.championTolerance)}`,
    );
    return { pass: false, reasons };
  }
  reasons.push(
    `primary ${fmt(row.primary)} holds against champion ${champion.name} (${fmt(scoredChampion.primary)}, ` +
      `tolerance ${fmt(policy.championTolerance)})`,
  );
  return { pass: true, reasons };
}
