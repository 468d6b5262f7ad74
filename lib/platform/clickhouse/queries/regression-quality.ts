/**
 * A regression task's quality (GET /quality?task=max_temp): per bucket (overall, station, season, month,
 * week, model, year) R², RMSE and MAE of the served forecasts against the values their next day brought
 * (the prequential pairs of `regressionPairsSql`). One aggregation; R² = 1 - MSE / variance of the
 * bucket's actual values (the population variance, as scikit-learn's r2_score).
 */
import type { SqlRunner } from '../client.ts';
import { regressionPairsSql, type ScoreFilter } from './quality.ts';
import { QUALITY_BUCKET, QUALITY_GROUPINGS, type QualityGrouping } from './quality-report.ts';

export { QUALITY_GROUPINGS, type QualityGrouping };

export function regressionQualitySql(task: string, grouping: QualityGrouping, filter: ScoreFilter): string {
  return `SELECT ${QUALITY_BUCKET[grouping]} AS bucket,
  count() AS n,
  avg((predicted - actual) * (predicted - actual)) AS mse,
  avg(abs(predicted - actual)) AS mae,
  varPop(actual) AS variance,
  avg(actual) AS mean_actual,
  avg(predicted) AS mean_predicted
FROM (${regressionPairsSql(task, filter)}) AS pairs
GROUP BY bucket
ORDER BY bucket`;
}

export interface RegressionQualityRow {
  bucket: string;
  n: number;
  r2: number;
  rmse: number;
  mae: number;
  meanActual: number;
  meanPredicted: number;
}

/** R² of a bucket: NaN when its actual values do not vary (R² has no meaning there). */
export function r2Of(mse: number, variance: number): number {
  return variance > 0 ? 1 - mse / variance : NaN;
}

export function regressionQualityRows(
  rows: readonly Record<string, string | number>[],
): RegressionQualityRow[] {
  return rows.map((r) => {
    const mse = Number(r.mse);
    return {
      bucket: String(r.bucket),
      n: Number(r.n),
      r2: r2Of(mse, Number(r.variance)),
      rmse: Math.sqrt(mse),
      mae: Number(r.mae),
      meanActual: Number(r.mean_actual),
      meanPredicted: Number(r.mean_predicted),
    };
  });
}

export async function regressionQuality(
  runner: SqlRunner,
  task: string,
  grouping: QualityGrouping,
  filter: ScoreFilter,
): Promise<RegressionQualityRow[]> {
  return regressionQualityRows(
    await runner.rows<Record<string, string | number>>(regressionQualitySql(task, grouping, filter)),
  );
}
