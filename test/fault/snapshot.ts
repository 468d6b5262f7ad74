/**
 * A run's outputs as the suite compares them: ClickHouse tables after FINAL, the Redis latest forecasts,
 * and every topic's (station, date) keys read back committed-only. Contents leave out what differs between
 * any two runs by design (write times, `ver`, the label join's missing reason, which depends on batch
 * timing: 'gap' or 'timeout' both mean missing).
 */
import type { EventCodec, EventKind } from '../../lib/domain/events.ts';
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { Config } from '../../lib/platform/config.ts';
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import { keysUnder, type RedisHandle } from '../../lib/platform/redis.ts';
import { countKeys, keysOn } from '../support/pipeline-process.ts';
import type { Keyed, RunSnapshot, TopicKeys } from './compare.ts';

/** Tables the verdict is made of: every output of the stages, drift's weekly tables and incidents included. */
export const JUDGED_TABLES = [
  'predictions',
  'actuals',
  'labeled_examples',
  'latest_forecasts',
  'drift',
  'drift_stations',
  'drift_performance',
  'drift_calibration',
  'drift_incidents',
] as const;

/**
 * Drift's statistics are sums over a week's examples, added up per partition and then across partitions:
 * the same examples summed in another order differ in the last bits of a double. Ten significant digits
 * keep every difference that means something (a lost or double-counted example moves the fourth).
 */
function roundedFloats(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k] = typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(10)) : v;
  return out;
}

async function keyedRows(
  clickhouse: ClickHouse,
  sql: string,
  key: (row: Record<string, unknown>) => string,
  canonical: (row: Record<string, unknown>) => Record<string, unknown> = (row) => row,
) {
  const rows = (await clickhouse.rows<Record<string, unknown>>(sql)).map(canonical);
  const out = new Map<string, string>();
  for (const row of rows) {
    const k = key(row);
    // Two rows of one key after FINAL cannot happen; if they did, the content would not match either.
    out.set(k, out.has(k) ? `${out.get(k)}||${JSON.stringify(row)}` : JSON.stringify(row));
  }
  return out;
}

/** Every task predicts and labels each (station, date): the task is part of the key. */
const taskStationDay = (row: Record<string, unknown>) =>
  `${String(row.task)}|${String(row.location)}|${String(row.date)}`;

export async function snapshotRun(deps: {
  config: Config;
  kafka: Kafka;
  codec: EventCodec;
  clickhouse: ClickHouse;
  redis: RedisHandle;
}): Promise<RunSnapshot> {
  const { config, kafka, codec, clickhouse, redis } = deps;
  const tables: Record<string, Keyed> = {
    predictions: await keyedRows(
      clickhouse,
      `SELECT task, location, toString(date) AS date, probability, value, decision, threshold, model_version,
         feature_set_version FROM predictions FINAL`,
      taskStationDay,
    ),
    actuals: await keyedRows(
      clickhouse,
      `SELECT task, location, toString(date) AS date, status, rain_tomorrow, rainfall_tomorrow_mm, actual_value
       FROM actuals FINAL`,
      taskStationDay,
    ),
    labeled_examples: await keyedRows(
      clickhouse,
      `SELECT task, location, toString(date) AS date, feature_set_version, features, label, target, value, rainfall_next,
         probability, model_version FROM labeled_examples FINAL`,
      taskStationDay,
    ),
    ...(await driftTables(clickhouse)),
    latest_forecasts: await latestForecasts(redis),
  };
  const topics: Record<string, TopicKeys> = {};
  const onTopics: Array<[string, string, EventKind]> = [
    ['observations', config.topics.observations, 'observation'],
    ['features', config.topics.features, 'features'],
    ['predictions', config.topics.predictions, 'prediction'],
    ['labeled', config.topics.labeled, 'labeled'],
  ];
  for (const [name, topic, kind] of onTopics)
    topics[name] = countKeys(await keysOn(kafka, codec, topic, kind));
  return { tables, topics };
}

/** Drift's tables, keyed as their ReplacingMergeTree keys them; write times and `ver` left out. */
async function driftTables(clickhouse: ClickHouse): Promise<Record<string, Keyed>> {
  const keyOf =
    (...columns: string[]) =>
    (row: Record<string, unknown>) =>
      columns.map((c) => String(row[c])).join('|');
  const table = (sql: string, ...key: string[]) => keyedRows(clickhouse, sql, keyOf(...key), roundedFloats);
  return {
    drift: await table(
      `SELECT task, toString(week) AS week, model_version, station, kind, name, statistic, value, threshold, alert,
         n FROM drift FINAL`,
      'task',
      'week',
      'model_version',
      'station',
      'kind',
      'name',
      'statistic',
    ),
    drift_stations: await table(
      `SELECT task, toString(week) AS week, model_version, station, feature, rank, importance, rows, valued, missing_share,
         missing_threshold, anomaly, residual_z, shift_threshold, residual_z2, shift_threshold2, spread_log_ratio,
         stuck_threshold, missing_breach, shift_breach, stuck_breach
       FROM drift_stations FINAL`,
      'task',
      'week',
      'model_version',
      'station',
      'feature',
    ),
    drift_performance: await table(
      `SELECT task, toString(week) AS week, model_version, station, basis, n, accuracy, brier, expected_accuracy,
         reference_accuracy, reference_brier, ece, rmse, mae, reference_rmse FROM drift_performance FINAL`,
      'task',
      'week',
      'model_version',
      'station',
      'basis',
    ),
    drift_calibration: await table(
      `SELECT task, toString(week) AS week, model_version, bin, n, mean_p, mean_y FROM drift_calibration FINAL`,
      'task',
      'week',
      'model_version',
      'bin',
    ),
    drift_incidents: await table(
      `SELECT task, incident_id, station, feature, kind, status, toString(opened_week) AS opened_week,
         toString(last_breach_week) AS last_breach_week, toString(resolved_week) AS resolved_week, weeks_breached,
         model_version, statistic, value, peak, threshold, importance, rank, toString(updated_week) AS updated_week
       FROM drift_incidents FINAL`,
      'task',
      'incident_id',
    ),
  };
}

async function latestForecasts(redis: RedisHandle): Promise<Keyed> {
  const keys = await keysUnder(redis, 'latest');
  const out = new Map<string, string>();
  if (keys.length === 0) return out;
  const values = await redis.client.mget(...keys);
  keys.forEach((key, i) => {
    const value = values[i];
    if (value === null || value === undefined) return;
    const { predictedAt: _predictedAt, ...forecast } = JSON.parse(value) as Record<string, unknown>;
    out.set(key.slice(key.lastIndexOf(':') + 1), JSON.stringify(forecast));
  });
  return out;
}
