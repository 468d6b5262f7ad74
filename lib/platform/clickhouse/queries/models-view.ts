/** One model's metadata (no artifact) by version or by alias, for the API's registry views. */
import type { SqlRunner } from '../client.ts';
import { modelOfAlias, newestModelRowsSql, toModelSummary, type ModelSummary } from './models.ts';

export { modelOfAlias };

const MODEL_COLUMNS = `version, family, task, params, metrics, feature_set_version, toString(train_start) AS train_start,
  toString(train_end) AS train_end, rows, positives, code_version, status, toString(trained_at) AS trained_at,
  train_seconds, peak_rss_mb`;

export function modelSummarySql(version: string): string {
  return newestModelRowsSql(MODEL_COLUMNS, [version]);
}

export async function modelSummary(runner: SqlRunner, version: string): Promise<ModelSummary | null> {
  const [r] = await runner.rows<Record<string, string | number>>(modelSummarySql(version));
  return r ? toModelSummary(r) : null;
}
