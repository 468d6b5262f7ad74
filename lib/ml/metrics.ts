/**
 * Forecast-quality metrics on typed arrays. Definitions follow scikit-learn's so that figures compare
 * one to one with the anchors (test/fixtures/ml/metrics-sklearn.json holds its figures on a fixed file):
 * labels are 0/1, a row is predicted positive when its score is >= the threshold.
 */
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

export class MetricsError extends TypedError<'METRICS'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('METRICS', message, options);
  }
}

type Values = ArrayLike<number>;

function checkPair(y: Values, score: Values): void {
  if (y.length !== score.length) {
    throw new MetricsError(`labels and scores differ in length: ${y.length} vs ${score.length}`);
  }
  if (y.length === 0) throw new MetricsError('no rows to score');
}

function checkBinary(y: Values): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new MetricsError(`label at row ${i} is ${v}, expected 0 or 1`);
  }
}

function checkFinite(score: Values, what: string): void {
  for (let i = 0; i < score.length; i++) {
    if (!Number.isFinite(score[i])) throw new MetricsError(`${what} at row ${i} is ${score[i]}`);
  }
}

/** Row indices ordered by descending score (stable, so equal scores keep row order). */
function orderByScoreDesc(score: Values): Uint32Array {
  const n = score.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const s = Float64Array.from(score);
  order.sort((a, b) => s[b]! - s[a]! || a - b);
  return order;
}

/**
 * Exact ROC AUC through the rank-sum (Mann-Whitney) identity, tied scores sharing their average rank,
 * which equals the trapezoidal area scikit-learn computes. NaN when only one class is present.
 */
export function rocAuc(y: Values, score: Values): number {
  checkPair(y, score);
  checkBinary(y);
  checkFinite(score, 'score');
  const n = y.length;
  const order = orderByScoreDesc(score);
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i]!;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  // Ascending ranks: the row at descending position p has rank n - p.
  let rankSumPos = 0;
  let p = 0;
  while (p < n) {
    let q = p;
    const s = score[order[p]!]!;
    let posInGroup = 0;
    while (q < n && score[order[q]!] === s) posInGroup += y[order[q++]!]!;
    // Positions p..q-1 hold ranks n-p down to n-q+1; their average is (2n - p - q + 1) / 2.
    rankSumPos += posInGroup * ((2 * n - p - q + 1) / 2);
    p = q;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Average precision as scikit-learn defines it: sum over distinct thresholds (descending) of
 * (R_k - R_{k-1}) * P_k, no interpolation. NaN when there is no positive row.
 */
export function averagePrecision(y: Values, score: Values): number {
  checkPair(y, score);
  checkBinary(y);
  checkFinite(score, 'score');
  const n = y.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i]!;
  if (nPos === 0) return NaN;
  const order = orderByScoreDesc(score);
  let tp = 0;
  let seen = 0;
  let prevRecall = 0;
  let ap = 0;
  let p = 0;
  while (p < n) {
    const s = score[order[p]!]!;
    while (p < n && score[order[p]!] === s) {
      tp += y[order[p]!]!;
      seen++;
      p++;
    }
    const recall = tp / nPos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
  }
  return ap;
}

export interface ConfusionMatrix {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export function confusionMatrix(y: Values, score: Values, threshold = 0.5): ConfusionMatrix {
  checkPair(y, score);
  checkBinary(y);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const predicted = score[i]! >= threshold;
    if (y[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

export interface ThresholdMetrics {
  readonly accuracy: number;
  /** 0 when nothing is predicted positive (scikit-learn's zero_division default, without the warning). */
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly confusion: ConfusionMatrix;
}

export function thresholdMetrics(y: Values, score: Values, threshold = 0.5): ThresholdMetrics {
  const confusion = confusionMatrix(y, score, threshold);
  const { tp, fp, tn, fn } = confusion;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  return { accuracy: (tp + tn) / y.length, precision, recall, f1, confusion };
}

export const accuracy = (y: Values, score: Values, threshold = 0.5): number =>
  thresholdMetrics(y, score, threshold).accuracy;
export const precision = (y: Values, score: Values, threshold = 0.5): number =>
  thresholdMetrics(y, score, threshold).precision;
export const recall = (y: Values, score: Values, threshold = 0.5): number =>
  thresholdMetrics(y, score, threshold).recall;
export const f1 = (y: Values, score: Values, threshold = 0.5): number =>
  thresholdMetrics(y, score, threshold).f1;

function checkProbabilities(p: Values): void {
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (!(v >= 0 && v <= 1)) throw new MetricsError(`probability at row ${i} is ${v}, outside [0, 1]`);
  }
}

/** Mean squared difference between probability and outcome. */
export function brier(y: Values, p: Values): number {
  checkPair(y, p);
  checkBinary(y);
  checkProbabilities(p);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += (p[i]! - y[i]!) ** 2;
  return sum / y.length;
}

/** Mean negative log-likelihood, probabilities clipped to [eps, 1 - eps] so one certain miss stays finite. */
export function logLoss(y: Values, p: Values, eps = 1e-15): number {
  checkPair(y, p);
  checkBinary(y);
  checkProbabilities(p);
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]!));
    sum -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return sum / y.length;
}

export interface CalibrationBin {
  readonly lower: number;
  readonly upper: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
  readonly count: number;
}

export interface CalibrationTable {
  /** Non-empty bins only, in ascending order (as scikit-learn's calibration_curve returns them). */
  readonly bins: CalibrationBin[];
  /** Expected calibration error: count-weighted mean of |meanPredicted - observedRate|. */
  readonly ece: number;
}

/**
 * Uniform-width reliability table. Bin edges are i * (1 / nBins) exactly as numpy's linspace computes them
 * and a value on an inner edge falls in the lower bin, so counts match calibration_curve to the row.
 */
export function calibrationTable(y: Values, p: Values, nBins = 10): CalibrationTable {
  checkPair(y, p);
  checkBinary(y);
  checkProbabilities(p);
  if (!Number.isInteger(nBins) || nBins < 1)
    throw new MetricsError(`nBins must be a positive integer, got ${nBins}`);
  const step = 1 / nBins;
  const edges = new Float64Array(nBins + 1);
  for (let i = 0; i <= nBins; i++) edges[i] = i * step;
  edges[nBins] = 1;
  const sumP = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  const count = new Float64Array(nBins);
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    let b = Math.min(nBins - 1, Math.max(0, Math.ceil(v * nBins) - 1));
    while (b > 0 && v <= edges[b]!) b--;
    while (b < nBins - 1 && v > edges[b + 1]!) b++;
    sumP[b]! += v;
    sumY[b]! += y[i]!;
    count[b]!++;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < nBins; b++) {
    const c = count[b]!;
    if (c === 0) continue;
    const meanPredicted = sumP[b]! / c;
    const observedRate = sumY[b]! / c;
    bins.push({ lower: edges[b]!, upper: edges[b + 1]!, meanPredicted, observedRate, count: c });
    ece += (c / p.length) * Math.abs(meanPredicted - observedRate);
  }
  return { bins, ece };
}

export function rmse(y: Values, yHat: Values): number {
  checkPair(y, yHat);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += (y[i]! - yHat[i]!) ** 2;
  return Math.sqrt(sum / y.length);
}

export function mae(y: Values, yHat: Values): number {
  checkPair(y, yHat);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += Math.abs(y[i]! - yHat[i]!);
  return sum / y.length;
}

/** Coefficient of determination; on a constant target, 1 for a perfect fit and 0 otherwise (as sklearn). */
export function r2(y: Values, yHat: Values): number {
  checkPair(y, yHat);
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i]!;
  mean /= y.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < y.length; i++) {
    ssRes += (y[i]! - yHat[i]!) ** 2;
    ssTot += (y[i]! - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

export interface ClassificationReport extends ThresholdMetrics {
  readonly task: 'classification';
  readonly n: number;
  readonly rocAuc: number;
  readonly prAuc: number;
  readonly brier: number;
  readonly logLoss: number;
  readonly ece: number;
  readonly threshold: number;
}

export interface RegressionReport {
  readonly task: 'regression';
  readonly n: number;
  readonly rmse: number;
  readonly mae: number;
  readonly r2: number;
}

export type MetricsReport = ClassificationReport | RegressionReport;

/** Every classification figure at once: what model selection and the registry record per candidate. */
export function classificationReport(
  y: Values,
  p: Values,
  threshold = 0.5,
  calibrationBins = 10,
): ClassificationReport {
  return {
    task: 'classification',
    n: y.length,
    rocAuc: rocAuc(y, p),
    prAuc: averagePrecision(y, p),
    ...thresholdMetrics(y, p, threshold),
    brier: brier(y, p),
    logLoss: logLoss(y, p),
    ece: calibrationTable(y, p, calibrationBins).ece,
    threshold,
  };
}

export function regressionReport(y: Values, yHat: Values): RegressionReport {
  return { task: 'regression', n: y.length, rmse: rmse(y, yHat), mae: mae(y, yHat), r2: r2(y, yHat) };
}
