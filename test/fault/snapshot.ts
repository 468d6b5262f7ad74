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

/** Tables the verdict is made of; drift is reported beside them while its stage is being rewritten. */
export const JUDGED_TABLES = ['predictions', 'actuals', 'labeled_examples', 'latest_forecasts'] as const;

async function keyedRows(clickhouse: ClickHouse, sql: string, key: (row: Record<string, unknown>) => string) {
  const rows = await clickhouse.rows<Record<string, unknown>>(sql);
  const out = new Map<string, string>();
  for (const row of rows) {
    const k = key(row);
    // Two rows of one key after FINAL cannot happen; if they did, the content would not match either.
    out.set(k, out.has(k) ? `${out.get(k)}||${JSON.stringify(row)}` : JSON.stringify(row));
  }
  return out;
}

const stationDay = (row: Record<string, unknown>) => `${String(row.location)}|${String(row.date)}`;

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
      `SELECT location, toString(date) AS date, probability, decision, threshold, model_version, feature_set_version
       FROM predictions FINAL`,
      stationDay,
    ),
    actuals: await keyedRows(
      clickhouse,
      `SELECT location, toString(date) AS date, status, rain_tomorrow, rainfall_tomorrow_mm FROM actuals FINAL`,
      stationDay,
    ),
    labeled_examples: await keyedRows(
      clickhouse,
      `SELECT location, toString(date) AS date, feature_set_version, features, label, rainfall_next, probability,
         model_version FROM labeled_examples FINAL`,
      stationDay,
    ),
    drift: await keyedRows(
      clickhouse,
      `SELECT toString(week) AS week, model_version, kind, name, statistic, value, threshold, alert, n FROM drift FINAL`,
      (row) => `${String(row.week)}|${String(row.kind)}|${String(row.name)}|${String(row.statistic)}`,
    ),
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
