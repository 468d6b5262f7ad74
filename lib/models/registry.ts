/**
 * The model registry in ClickHouse: one row per trained version (params, metrics, training window, data
 * counts, code version, artifact) and an alias history (champion, challenger). Rows are keyed by version
 * (ReplacingMergeTree), so registering the same training run twice leaves one row.
 */
import type { ClickHouse, SqlRunner } from '../platform/clickhouse/client.ts';
import { quoteString, toDateTime } from '../platform/clickhouse/sql.ts';
import type { ClipBounds } from '../domain/features/clipping.ts';
import type { ModelArtifact } from '../ml/model.ts';

export type ModelStatus = 'candidate' | 'promoted' | 'rejected';
export type Alias = 'champion' | 'challenger';

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
  featureSetVersion: string;
  trainEnd: string;
  status: string;
  bundle: ModelBundle;
  reference: unknown;
}

export interface AliasRow {
  alias: string;
  version: string;
  previousVersion: string;
  reason: string;
  changedAt: string;
}

export class RegistryError extends Error {
  readonly code = 'MODEL_REGISTRY';
}

/** Monotonic row versions within a process, so a later write of the same key always wins. */
let lastVer = 0;
function nextVer(now = Date.now()): number {
  lastVer = Math.max(lastVer + 1, now * 1000);
  return lastVer;
}

export async function registerModels(clickhouse: ClickHouse, records: readonly ModelRecord[]): Promise<void> {
  await clickhouse.insertRows(
    'models',
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
      artifact: JSON.stringify(r.bundle),
      reference: JSON.stringify(r.reference ?? null),
      status: r.status,
      trained_at: toDateTime(r.trainedAt),
      train_seconds: r.trainSeconds,
      peak_rss_mb: r.peakRssMb,
      ver: nextVer(),
    })),
  );
}

/** Re-writes a model's status (a newer row of the same version replaces the old one). */
export async function setModelStatus(
  clickhouse: ClickHouse,
  version: string,
  status: ModelStatus,
): Promise<void> {
  const rows = await clickhouse.rows<Record<string, unknown>>(
    `SELECT * FROM models FINAL WHERE version = ${quoteString(version)}`,
  );
  if (rows.length === 0) throw new RegistryError(`no model version ${version}`);
  await clickhouse.insertRows('models', [{ ...rows[0], status, ver: nextVer() }]);
}

export async function recordAlias(
  clickhouse: ClickHouse,
  alias: Alias,
  version: string,
  previousVersion: string | null,
  reason: string,
  at = Date.now(),
): Promise<void> {
  await clickhouse.insertRows('model_aliases', [
    {
      alias,
      version,
      previous_version: previousVersion ?? '',
      reason,
      changed_at: toDateTime(at),
      ver: nextVer(at),
    },
  ]);
}

export async function currentAlias(runner: SqlRunner, alias: Alias): Promise<AliasRow | null> {
  const [row] = await runner.rows<Record<string, string>>(
    `SELECT alias, argMax(version, ver) AS version, argMax(previous_version, ver) AS previous_version,
       argMax(reason, ver) AS reason, toString(argMax(changed_at, ver)) AS changed_at
     FROM model_aliases WHERE alias = ${quoteString(alias)} GROUP BY alias`,
  );
  return row
    ? {
        alias: row.alias!,
        version: row.version!,
        previousVersion: row.previous_version!,
        reason: row.reason!,
        changedAt: row.changed_at!,
      }
    : null;
}

/** Alias history, newest first (for rollback and the CLI). */
export async function aliasHistory(runner: SqlRunner, alias: Alias, limit = 20): Promise<AliasRow[]> {
  const rows = await runner.rows<Record<string, string>>(
    `SELECT alias, version, previous_version, reason, toString(changed_at) AS changed_at
     FROM model_aliases WHERE alias = ${quoteString(alias)} ORDER BY ver DESC LIMIT ${Math.trunc(limit)}`,
  );
  return rows.map((r) => ({
    alias: r.alias!,
    version: r.version!,
    previousVersion: r.previous_version!,
    reason: r.reason!,
    changedAt: r.changed_at!,
  }));
}

export async function loadStoredModel(runner: SqlRunner, version: string): Promise<StoredModel | null> {
  const [row] = await runner.rows<Record<string, string>>(
    `SELECT version, family, feature_set_version, toString(train_end) AS train_end, status, artifact, reference
     FROM models FINAL WHERE version = ${quoteString(version)}`,
  );
  if (!row) return null;
  return {
    version: row.version!,
    family: row.family!,
    featureSetVersion: row.feature_set_version!,
    trainEnd: row.train_end!,
    status: row.status!,
    bundle: JSON.parse(row.artifact!) as ModelBundle,
    reference: JSON.parse(row.reference!) as unknown,
  };
}

export interface ModelListing {
  version: string;
  family: string;
  status: string;
  trainStart: string;
  trainEnd: string;
  rows: number;
  metrics: Record<string, unknown>;
  trainedAt: string;
  trainSeconds: number;
}

export async function listModels(runner: SqlRunner, limit = 50): Promise<ModelListing[]> {
  const rows = await runner.rows<Record<string, string>>(
    `SELECT version, family, status, toString(train_start) AS train_start, toString(train_end) AS train_end,
       rows, metrics, toString(trained_at) AS trained_at, train_seconds
     FROM models FINAL ORDER BY trained_at DESC, version DESC LIMIT ${Math.trunc(limit)}`,
  );
  return rows.map((r) => ({
    version: r.version!,
    family: r.family!,
    status: r.status!,
    trainStart: r.train_start!,
    trainEnd: r.train_end!,
    rows: Number(r.rows),
    metrics: JSON.parse(r.metrics!) as Record<string, unknown>,
    trainedAt: r.trained_at!,
    trainSeconds: Number(r.train_seconds),
  }));
}
