/**
 * Forecast quality as users live it (prequential scores), as SQL text builders (values escaped by sql.ts)
 * plus thin runners. All SQL here runs on ClickHouse 18.16 and 26.x: explicit ALL INNER JOIN ... USING between
 * sub-queries, no window functions, no query parameters.
 */
import type { SqlRunner } from '../client.ts';
import { quoteDate, quoteString } from '../sql.ts';

export const SCORE_GROUPINGS = ['overall', 'location', 'year', 'season', 'week', 'model'] as const;
export type ScoreGrouping = (typeof SCORE_GROUPINGS)[number];

export interface ScoreFilter {
  /** Prediction dates, inclusive, YYYY-MM-DD. */
  from?: string;
  to?: string;
  modelVersion?: string;
  location?: string;
}

/** Southern-hemisphere seasons (the stations are Australian): DJF summer, MAM autumn, JJA winter. */
const SEASON = `multiIf(toMonth(date) IN (12, 1, 2), 'summer', toMonth(date) IN (3, 4, 5), 'autumn', toMonth(date) IN (6, 7, 8), 'winter', 'spring')`;

const BUCKET: Readonly<Record<ScoreGrouping, string>> = {
  overall: `'all'`,
  location: 'location',
  year: 'toString(toYear(date))',
  season: SEASON,
  week: 'toString(toMonday(date))',
  model: 'model_version',
};

function predictionFilter(filter: ScoreFilter): string {
  const conditions = ['1 = 1'];
  if (filter.from !== undefined) conditions.push(`date >= ${quoteDate(filter.from)}`);
  if (filter.to !== undefined) conditions.push(`date <= ${quoteDate(filter.to)}`);
  if (filter.modelVersion !== undefined)
    conditions.push(`model_version = ${quoteString(filter.modelVersion)}`);
  if (filter.location !== undefined) conditions.push(`location = ${quoteString(filter.location)}`);
  return conditions.join(' AND ');
}

/**
 * Rain's prequential pairs: each prediction (latest write per key) with its joined outcome. Predictions whose
 * outcome is missing or not yet known are left out, as a prequential score must.
 */
export function scoredPairsSql(filter: ScoreFilter = {}): string {
  return `SELECT location, date, model_version, probability, decision, label
FROM (
  SELECT location, date, model_version, probability, decision
  FROM predictions FINAL
  WHERE task = 'rain' AND ${predictionFilter(filter)}
) AS p ALL INNER JOIN (
  SELECT location, date, assumeNotNull(rain_tomorrow) AS label
  FROM actuals FINAL
  WHERE task = 'rain' AND status = 'joined' AND isNotNull(rain_tomorrow)
) AS a USING (location, date)`;
}

/**
 * A regression task's prequential pairs: each forecast value (latest write per key) with the value its
 * next day brought. Forecasts whose outcome is missing or not yet known are left out.
 */
export function regressionPairsSql(task: string, filter: ScoreFilter = {}): string {
  return `SELECT location, date, model_version, predicted, actual
FROM (
  SELECT location, date, model_version, assumeNotNull(value) AS predicted
  FROM predictions FINAL
  WHERE task = ${quoteString(task)} AND isNotNull(value) AND ${predictionFilter(filter)}
) AS p ALL INNER JOIN (
  SELECT location, date, assumeNotNull(actual_value) AS actual
  FROM actuals FINAL
  WHERE task = ${quoteString(task)} AND status = 'joined' AND isNotNull(actual_value)
) AS a USING (location, date)`;
}

/** Count, positives, Brier score, accuracy of the decision and mean probability per bucket. */
export function prequentialScoresSql(grouping: ScoreGrouping, filter: ScoreFilter = {}): string {
  return `SELECT ${BUCKET[grouping]} AS bucket,
  count() AS n,
  sum(label) AS positives,
  avg((probability - label) * (probability - label)) AS brier,
  avg(decision = label) AS accuracy,
  avg(probability) AS mean_probability
FROM (${scoredPairsSql(filter)}) AS pairs
GROUP BY bucket
ORDER BY bucket`;
}

/**
 * Per bucket and distinct probability, how many positives and negatives got it: enough to compute the
 * exact ROC AUC (ties counted as half) in TypeScript, with far fewer rows than the pairs themselves
 * since tree models repeat probabilities.
 */
export function rocInputSql(grouping: ScoreGrouping, filter: ScoreFilter = {}): string {
  return `SELECT ${BUCKET[grouping]} AS bucket,
  probability,
  countIf(label = 1) AS pos,
  countIf(label = 0) AS neg
FROM (${scoredPairsSql(filter)}) AS pairs
GROUP BY bucket, probability
ORDER BY bucket, probability`;
}

export interface RocPoint {
  probability: number;
  pos: number;
  neg: number;
}

/**
 * ROC AUC by the Mann-Whitney statistic over points sorted by ascending probability: the probability
 * that a random positive scores above a random negative, ties counting half. NaN with one class only.
 */
export function rocAuc(points: readonly RocPoint[]): number {
  let positives = 0;
  let negatives = 0;
  let concordant = 0;
  for (const p of points) {
    concordant += p.pos * (negatives + p.neg / 2);
    positives += p.pos;
    negatives += p.neg;
  }
  return positives === 0 || negatives === 0 ? NaN : concordant / (positives * negatives);
}

export interface Score {
  bucket: string;
  n: number;
  positives: number;
  brier: number;
  accuracy: number;
  meanProbability: number;
  auc: number;
}

export async function prequentialScores(
  runner: SqlRunner,
  grouping: ScoreGrouping,
  filter: ScoreFilter = {},
): Promise<Score[]> {
  const [scoreRows, rocRows] = await Promise.all([
    runner.rows<Record<string, string | number>>(prequentialScoresSql(grouping, filter)),
    runner.rows<Record<string, string | number>>(rocInputSql(grouping, filter)),
  ]);
  const rocByBucket = new Map<string, RocPoint[]>();
  for (const r of rocRows) {
    const bucket = String(r.bucket);
    let points = rocByBucket.get(bucket);
    if (!points) rocByBucket.set(bucket, (points = []));
    points.push({ probability: Number(r.probability), pos: Number(r.pos), neg: Number(r.neg) });
  }
  return scoreRows.map((r) => {
    const bucket = String(r.bucket);
    const points = rocByBucket.get(bucket) ?? [];
    // The server sorts by probability already; sort again so the result never depends on it.
    points.sort((a, b) => a.probability - b.probability);
    return {
      bucket,
      n: Number(r.n),
      positives: Number(r.positives),
      brier: Number(r.brier),
      accuracy: Number(r.accuracy),
      meanProbability: Number(r.mean_probability),
      auc: rocAuc(points),
    };
  });
}
