/**
 * The model registry's tables: `models` (one row per trained version, keyed by version in a
 * ReplacingMergeTree, so registering the same run twice leaves one row) and `model_aliases` (the alias
 * history, newest `ver` wins). Rows here are plain columns; lib/models maps them to and from the domain's
 * records (artifact bundles, drift references), which this layer does not know.
 */
import type { ClickHouse, SqlRunner } from '../client.ts';
import { quoteString, toDateTime } from '../sql.ts';
import { TypedError, type TypedErrorOptions } from '../../errors.ts';

export type ModelStatus = 'candidate' | 'promoted' | 'rejected';
/** Rain's aliases are the bare names; another task's are prefixed with the task (`max_temp.champion`). */
export type Alias = 'champion' | 'challenger' | `${string}.champion` | `${string}.challenger`;

/** A `models` row as written: JSON columns already serialized. */
export interface ModelRow {
  version: string;
  family: string;
  task: string;
  params: string;
  metrics: string;
  feature_set_version: string;
  train_start: string;
  train_end: string;
  rows: number;
  positives: number;
  code_version: string;
  artifact: string;
  reference: string;
  status: ModelStatus;
  /** Epoch seconds (toDateTime). */
  trained_at: number;
  train_seconds: number;
  peak_rss_mb: number;
}

/** What an online path needs to load a version. */
export interface StoredModelRow {
  version: string;
  family: string;
  task: string;
  featureSetVersion: string;
  trainEnd: string;
  status: string;
  artifact: string;
  reference: string;
}

export interface AliasRow {
  alias: string;
  version: string;
  previousVersion: string;
  reason: string;
  changedAt: string;
}

export interface ModelListing {
  version: string;
  /** The task (rows written before tasks hold 'classification': rain's). */
  task: string;
  family: string;
  status: string;
  trainStart: string;
  trainEnd: string;
  rows: number;
  metrics: Record<string, unknown>;
  trainedAt: string;
  trainSeconds: number;
}

/** A model's metadata without its artifact (which can be large). */
export interface ModelSummary {
  version: string;
  family: string;
  task: string;
  params: string;
  metrics: string;
  featureSetVersion: string;
  trainStart: string;
  trainEnd: string;
  rows: number;
  positives: number;
  codeVersion: string;
  status: string;
  trainedAt: string;
  trainSeconds: number;
  peakRssMb: number;
}

/** Monotonic row versions within a process, so a later write of the same key always wins. */
let lastVer = 0;
function nextVer(now = Date.now()): number {
  lastVer = Math.max(lastVer + 1, now * 1000);
  return lastVer;
}

export async function insertModelRows(clickhouse: ClickHouse, rows: readonly ModelRow[]): Promise<void> {
  await clickhouse.insertRows(
    'models',
    rows.map((r) => ({ ...r, ver: nextVer() })),
  );
}

/**
 * The newest row of each of `versions` (the `models` table is a ReplacingMergeTree on `ver`). Not FINAL:
 * FINAL merges every part of the table on read, and with a few hundred artifacts of 100-300 kB a
 * champion load took 0.5-2 s under load; the primary key finds the version's rows (one per status
 * change) and LIMIT BY keeps the newest, the same row FINAL would keep.
 */
export function newestModelRowsSql(columns: string, versions: readonly string[]): string {
  return `SELECT ${columns} FROM models WHERE version IN (${versions.map(quoteString).join(', ')})
     ORDER BY ver DESC LIMIT 1 BY version`;
}

export class ModelNotFoundError extends TypedError<'MODEL_NOT_FOUND'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('MODEL_NOT_FOUND', message, options);
  }
}

/** Re-writes a model's status (a newer row of the same version replaces the old one). */
export async function setModelStatus(
  clickhouse: ClickHouse,
  version: string,
  status: ModelStatus,
): Promise<void> {
  const rows = await clickhouse.rows<Record<string, unknown>>(newestModelRowsSql('*', [version]));
  if (rows.length === 0) throw new ModelNotFoundError(`no model version ${version}`);
  await clickhouse.insertRows('models', [{ ...rows[0], status, ver: nextVer() }]);
}

export async function insertAlias(
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

export async function storedModelRow(runner: SqlRunner, version: string): Promise<StoredModelRow | null> {
  const [row] = await runner.rows<Record<string, string>>(
    newestModelRowsSql(
      `version, family, task, feature_set_version, toString(train_end) AS train_end, status, artifact,
       reference`,
      [version],
    ),
  );
  if (!row) return null;
  return {
    version: row.version!,
    family: row.family!,
    task: row.task!,
    featureSetVersion: row.feature_set_version!,
    trainEnd: row.train_end!,
    status: row.status!,
    artifact: row.artifact!,
    reference: row.reference!,
  };
}

/** The drift references (JSON text, 'null' when none) of the given versions. */
export async function referencesOf(
  runner: SqlRunner,
  versions: readonly string[],
): Promise<{ version: string; reference: string }[]> {
  if (versions.length === 0) return [];
  return runner.rows<{ version: string; reference: string }>(
    newestModelRowsSql('version, reference', versions),
  );
}

/** The task of a models row: rows written before tasks hold the model type 'classification', rain's. */
export const MODEL_TASK_SQL = `if(task = 'classification', 'rain', task)`;

export async function listModels(runner: SqlRunner, limit = 50, task?: string): Promise<ModelListing[]> {
  const where = task === undefined ? '' : `WHERE ${MODEL_TASK_SQL} = ${quoteString(task)}`;
  const rows = await runner.rows<Record<string, string>>(
    `SELECT version, ${MODEL_TASK_SQL} AS task, family, status, toString(train_start) AS train_start,
       toString(train_end) AS train_end, rows, metrics, toString(trained_at) AS trained_at, train_seconds
     FROM models FINAL ${where} ORDER BY trained_at DESC, version DESC LIMIT ${Math.trunc(limit)}`,
  );
  return rows.map((r) => ({
    version: r.version!,
    task: r.task!,
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

const MODEL_COLUMNS = `version, family, if(task = 'classification', 'rain', task) AS task, params, metrics, feature_set_version, train_start, train_end,
  rows, positives, code_version, status, trained_at, train_seconds, peak_rss_mb`;

/** The most recently trained model, without its artifact. */
export function latestModelSql(): string {
  return `SELECT ${MODEL_COLUMNS}
FROM models FINAL
ORDER BY trained_at DESC, version DESC
LIMIT 1`;
}

/** The model the alias points at now, without its artifact. */
export function modelOfAliasSql(alias: string): string {
  return `SELECT ${MODEL_COLUMNS}
FROM models
WHERE version = (SELECT argMax(version, ver) FROM model_aliases WHERE alias = ${quoteString(alias)})
ORDER BY ver DESC LIMIT 1 BY version`;
}

/** Where each alias points now, from its history. */
export function currentAliasesSql(): string {
  return `SELECT alias,
  argMax(version, ver) AS version,
  argMax(previous_version, ver) AS previous_version,
  argMax(reason, ver) AS reason,
  argMax(changed_at, ver) AS changed_at
FROM model_aliases
GROUP BY alias
ORDER BY alias`;
}

export function toModelSummary(r: Record<string, string | number>): ModelSummary {
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

export async function latestModel(runner: SqlRunner): Promise<ModelSummary | null> {
  const [row] = await runner.rows<Record<string, string | number>>(latestModelSql());
  return row ? toModelSummary(row) : null;
}

export async function modelOfAlias(runner: SqlRunner, alias: string): Promise<ModelSummary | null> {
  const [row] = await runner.rows<Record<string, string | number>>(modelOfAliasSql(alias));
  return row ? toModelSummary(row) : null;
}
