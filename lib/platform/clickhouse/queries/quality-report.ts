/**
 * The quality report the dashboard and `GET /quality` show: per bucket (station, season, month, week,
 * model, year or overall) the confusion counts at a threshold and what follows from them (accuracy,
 * precision, recall, F1), ROC AUC, PR AUC (average precision), Brier score and calibration bins, over
 * the prequential pairs (each prediction with its joined outcome, `scoredPairsSql`).
 *
 * Three small aggregations per request, then the math in TypeScript (pure, unit-tested): counts and
 * Brier are exact; the curves are computed from probabilities rounded to 1e-4 (at most 10,001 points
 * per bucket whatever the data size; the AUC moves by less than the rounding).
 */
import type { SqlRunner } from '../client.ts';
import { quoteNumber } from '../sql.ts';
import { rocAuc, scoredPairsSql, type RocPoint, type ScoreFilter } from './quality.ts';

export const QUALITY_GROUPINGS = ['overall', 'location', 'season', 'month', 'week', 'model', 'year'] as const;
export type QualityGrouping = (typeof QUALITY_GROUPINGS)[number];

/** Southern-hemisphere seasons (the stations are Australian): DJF summer, MAM autumn, JJA winter. */
const SEASON = `multiIf(toMonth(date) IN (12, 1, 2), 'summer', toMonth(date) IN (3, 4, 5), 'autumn', toMonth(date) IN (6, 7, 8), 'winter', 'spring')`;

/** The SQL expression of each grouping's bucket (shared by the rain and regression reports). */
export const QUALITY_BUCKET: Readonly<Record<QualityGrouping, string>> = {
  overall: `'all'`,
  location: 'location',
  season: SEASON,
  month: 'substring(toString(date), 1, 7)',
  week: 'toString(toMonday(date))',
  model: 'model_version',
  year: 'toString(toYear(date))',
};

export const CALIBRATION_BINS = 10;
/** Probabilities are rounded to this many decimals for the ROC and PR curves. */
const CURVE_DECIMALS = 4;

function checkThreshold(threshold: number): string {
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold ${threshold} is not in [0, 1]`);
  return quoteNumber(threshold);
}

/** n, positives, Brier, mean probability and the confusion counts at `threshold`, per bucket. */
export function qualitySummarySql(grouping: QualityGrouping, filter: ScoreFilter, threshold: number): string {
  const t = checkThreshold(threshold);
  return `SELECT ${QUALITY_BUCKET[grouping]} AS bucket,
  count() AS n,
  sum(label) AS positives,
  avg((probability - label) * (probability - label)) AS brier,
  avg(probability) AS mean_probability,
  countIf(probability >= ${t} AND label = 1) AS tp,
  countIf(probability >= ${t} AND label = 0) AS fp,
  countIf(probability < ${t} AND label = 1) AS fn,
  countIf(probability < ${t} AND label = 0) AS tn
FROM (${scoredPairsSql(filter)}) AS pairs
GROUP BY bucket
ORDER BY bucket`;
}

/** Positives and negatives per bucket and rounded probability: the ROC and PR curves' input. */
export function qualityCurveSql(grouping: QualityGrouping, filter: ScoreFilter): string {
  return `SELECT ${QUALITY_BUCKET[grouping]} AS bucket,
  round(probability, ${CURVE_DECIMALS}) AS p,
  countIf(label = 1) AS pos,
  countIf(label = 0) AS neg
FROM (${scoredPairsSql(filter)}) AS pairs
GROUP BY bucket, p
ORDER BY bucket, p`;
}

/** Per bucket and probability decile: count, mean predicted probability, observed frequency. */
export function calibrationSql(grouping: QualityGrouping, filter: ScoreFilter): string {
  return `SELECT ${QUALITY_BUCKET[grouping]} AS bucket,
  least(toUInt8(floor(probability * ${CALIBRATION_BINS})), ${CALIBRATION_BINS - 1}) AS bin,
  count() AS n,
  avg(probability) AS mean_probability,
  avg(label) AS observed
FROM (${scoredPairsSql(filter)}) AS pairs
GROUP BY bucket, bin
ORDER BY bucket, bin`;
}

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface ThresholdScores {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Accuracy, precision, recall and F1 of confusion counts; NaN where a ratio has nothing below it. */
export function thresholdScores(c: Confusion): ThresholdScores {
  const n = c.tp + c.fp + c.fn + c.tn;
  const precision = c.tp + c.fp === 0 ? NaN : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? NaN : c.tp / (c.tp + c.fn);
  const f1 = c.tp === 0 ? (c.tp + c.fn === 0 ? NaN : 0) : (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
  return { accuracy: n === 0 ? NaN : (c.tp + c.tn) / n, precision, recall, f1 };
}

/**
 * Average precision (the area under the precision-recall curve as scikit-learn computes it): the sum over
 * decreasing thresholds of (recall gained) x (precision there), tied probabilities forming one threshold.
 * NaN without positives.
 */
export function averagePrecision(points: readonly RocPoint[]): number {
  const sorted = [...points].sort((a, b) => b.probability - a.probability);
  let positives = 0;
  for (const p of sorted) positives += p.pos;
  if (positives === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  for (const p of sorted) {
    if (p.pos === 0 && p.neg === 0) continue;
    tp += p.pos;
    fp += p.neg;
    ap += (p.pos / positives) * (tp / (tp + fp));
  }
  return ap;
}

export interface CalibrationBin {
  bin: number;
  /** Probability range of the bin, [from, to). */
  from: number;
  to: number;
  n: number;
  meanProbability: number;
  /** Share of the bin's predictions whose day had rain. */
  observed: number;
}

export interface QualityRow extends ThresholdScores {
  bucket: string;
  n: number;
  positives: number;
  brier: number;
  meanProbability: number;
  threshold: number;
  confusion: Confusion;
  rocAuc: number;
  prAuc: number;
  calibration: CalibrationBin[];
}

type Row = Record<string, string | number>;

function groupBy<T>(rows: readonly Row[], map: (r: Row) => T): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const key = String(r.bucket);
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(map(r));
  }
  return out;
}

/** The report from the three aggregations' rows (pure: what `qualityReport` runs after the queries). */
export function qualityRows(
  summary: readonly Row[],
  curve: readonly Row[],
  calibration: readonly Row[],
  threshold: number,
): QualityRow[] {
  const curves = groupBy(curve, (r) => ({
    probability: Number(r.p),
    pos: Number(r.pos),
    neg: Number(r.neg),
  }));
  const bins = groupBy(calibration, (r) => {
    const bin = Number(r.bin);
    return {
      bin,
      from: bin / CALIBRATION_BINS,
      to: (bin + 1) / CALIBRATION_BINS,
      n: Number(r.n),
      meanProbability: Number(r.mean_probability),
      observed: Number(r.observed),
    };
  });
  return summary.map((r) => {
    const bucket = String(r.bucket);
    const points = (curves.get(bucket) ?? []).sort((a, b) => a.probability - b.probability);
    const confusion = { tp: Number(r.tp), fp: Number(r.fp), fn: Number(r.fn), tn: Number(r.tn) };
    return {
      bucket,
      n: Number(r.n),
      positives: Number(r.positives),
      brier: Number(r.brier),
      meanProbability: Number(r.mean_probability),
      threshold,
      confusion,
      ...thresholdScores(confusion),
      rocAuc: rocAuc(points),
      prAuc: averagePrecision(points),
      calibration: (bins.get(bucket) ?? []).sort((a, b) => a.bin - b.bin),
    };
  });
}

export async function qualityReport(
  runner: SqlRunner,
  grouping: QualityGrouping,
  filter: ScoreFilter,
  threshold: number,
): Promise<QualityRow[]> {
  const [summary, curve, calibration] = await Promise.all([
    runner.rows<Row>(qualitySummarySql(grouping, filter, threshold)),
    runner.rows<Row>(qualityCurveSql(grouping, filter)),
    runner.rows<Row>(calibrationSql(grouping, filter)),
  ]);
  return qualityRows(summary, curve, calibration, threshold);
}
