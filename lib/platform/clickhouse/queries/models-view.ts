/** One model's metadata (no artifact) by version or by alias, for the API's registry views. */
import type { SqlRunner } from '../client.ts';
import { quoteString } from '../sql.ts';
import { modelOfAlias, type ModelSummary } from './models.ts';

export { modelOfAlias };

const MODEL_COLUMNS = `version, family, task, params, metrics, feature_set_version, toString(train_start) AS train_start,
  toString(train_end) AS train_end, rows, positives, code_version, status, toString(trained_at) AS trained_at,
  train_seconds, peak_rss_mb`;

export function modelSummarySql(version: string): string {
  return `SELECT ${MODEL_COLUMNS} FROM models FINAL WHERE version = ${quoteString(version)}`;
}

export async function modelSummary(runner: SqlRunner, version: string): Promise<ModelSummary | null> {
  const [r] = await runner.rows<Record<string, string | number>>(modelSummarySql(version));
  if (!r) return null;
  return {
    version: String(r.version),
    family: String(r.family),
    task: String(r.task),
    params: String(r.params),
    metrics: String(r.metrics),
    featureSetVersion: String(r.feature_set_version),
    trainStart: String(r.train_start),
    trainEnd: String(r.train_end),
    rows: Number(r.rows),
    positives: Number(r.positives),
    codeVersion: String(r.code_version),
    status: String(r.status),
    trainedAt: String(r.trained_at),
    trainSeconds: Number(r.train_seconds),
    peakRssMb: Number(r.peak_rss_mb),
  };
}
