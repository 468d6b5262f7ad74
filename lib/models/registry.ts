/**
 * The model registry as the domain sees it: a trained version with its artifact bundle (the model and the
 * preprocessing it was trained with) and its drift reference, stored as `models` rows by the ClickHouse
 * layer (lib/platform/clickhouse/queries/models.ts), which holds the SQL.
 */
import type { ClickHouse, SqlRunner } from '../platform/clickhouse/client.ts';
import { insertModelRows, storedModelRow, type ModelStatus } from '../platform/clickhouse/queries/models.ts';
import { toDateTime } from '../platform/clickhouse/sql.ts';
import type { ClipBounds } from '../domain/features/clipping.ts';
import type { ModelArtifact } from '../ml/model.ts';
import { artifactFromStoredText, artifactToStoredText } from '../ml/artifact-codec.ts';

export type { Alias, AliasRow, ModelListing, ModelStatus } from '../platform/clickhouse/queries/models.ts';
export { aliasHistory, currentAlias, listModels } from '../platform/clickhouse/queries/models.ts';

/** What the online paths load: the model and the preprocessing it was trained with. */
export interface ModelBundle {
  model: ModelArtifact;
  clip: ClipBounds | null;
}

export interface ModelRecord {
  version: string;
  family: string;
  task: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  featureSetVersion: string;
  trainStart: string;
  trainEnd: string;
  rows: number;
  positives: number;
  codeVersion: string;
  bundle: ModelBundle;
  /** Drift reference captured at training time (JSON), null when none was computed. */
  reference: unknown;
  status: ModelStatus;
  trainedAt: number;
  trainSeconds: number;
  peakRssMb: number;
}

export interface StoredModel {
  version: string;
  family: string;
  task: string;
  featureSetVersion: string;
  trainEnd: string;
  status: string;
  bundle: ModelBundle;
  reference: unknown;
}

export async function registerModels(clickhouse: ClickHouse, records: readonly ModelRecord[]): Promise<void> {
  await insertModelRows(
    clickhouse,
    records.map((r) => ({
      version: r.version,
      family: r.family,
      task: r.task,
      params: JSON.stringify(r.params),
      metrics: JSON.stringify(r.metrics),
      feature_set_version: r.featureSetVersion,
      train_start: r.trainStart,
      train_end: r.trainEnd,
      rows: r.rows,
      positives: r.positives,
      code_version: r.codeVersion,
      // Binary (lib/ml/artifact-codec.ts), base64 in the String column; older rows hold JSON and still load.
      artifact: artifactToStoredText(r.bundle),
      reference: JSON.stringify(r.reference ?? null),
      status: r.status,
      trained_at: toDateTime(r.trainedAt),
      train_seconds: r.trainSeconds,
      peak_rss_mb: r.peakRssMb,
    })),
  );
}

export async function loadStoredModel(runner: SqlRunner, version: string): Promise<StoredModel | null> {
  const row = await storedModelRow(runner, version);
  if (!row) return null;
  return {
    version: row.version,
    family: row.family,
    task: row.task,
    featureSetVersion: row.featureSetVersion,
    trainEnd: row.trainEnd,
    status: row.status,
    bundle: artifactFromStoredText(row.artifact) as ModelBundle,
    reference: JSON.parse(row.reference) as unknown,
  };
}
