/**
 * What the demo, the end-to-end test and the benchmarks do around a replay: wait until the pipeline has
 * drained into ClickHouse, and read the summary back from it (the figures users see come from the store,
 * not from counters in memory).
 */
import { prequentialScores, tableCounts, type Score } from '../platform/clickhouse/queries/quality.ts';
import { createClickHouse, type SqlRunner } from '../platform/clickhouse/client.ts';
import { quoteIdentifier } from '../platform/clickhouse/sql.ts';
import type { Config } from '../platform/config.ts';
import { createKafka } from '../platform/kafka/client.ts';
import type { Logger } from '../platform/log.ts';
import { createRedis, deleteByPrefix } from '../platform/redis.ts';

export interface DrainTarget {
  predictions: number;
  /** Give up after this long without progress. */
  stallMs?: number;
  pollMs?: number;
}

/**
 * Resolves once ClickHouse holds `predictions` predictions and the label tables have stopped growing
 * (the last day of each station stays pending: its label needs a day that is not in the replay).
 */
export async function waitForDrain(runner: SqlRunner, target: DrainTarget): Promise<Record<string, number>> {
  const pollMs = target.pollMs ?? 250;
  const stallMs = target.stallMs ?? 60_000;
  let last = '';
  let lastChange = Date.now();
  let stableSince = Number.POSITIVE_INFINITY;
  for (;;) {
    // Plain counts while polling: FINAL on every poll would make ClickHouse merge-on-read all the time
    // and take the CPU the pipeline needs. A re-delivered row can only make them larger, never smaller.
    const [row] = await runner.rows<{ p: string; a: string; l: string }>(
      `SELECT (SELECT count() FROM predictions) AS p, (SELECT count() FROM actuals) AS a,
         (SELECT count() FROM labeled_examples) AS l`,
    );
    const signature = `${row!.p}|${row!.a}|${row!.l}`;
    const now = Date.now();
    if (signature !== last) {
      last = signature;
      lastChange = now;
      stableSince = now;
    }
    if (Number(row!.p) >= target.predictions && now - stableSince >= 1_000) {
      const counts = await tableCounts(runner);
      if (counts.predictions >= target.predictions) return counts;
    }
    if (now - lastChange > stallMs) {
      throw new Error(
        `pipeline stalled: ${row!.p}/${target.predictions} predictions, ${row!.a} actuals after ${stallMs} ms without progress`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface PipelineSummary {
  counts: Record<string, number>;
  modelsTrained: number;
  modelsPromoted: number;
  firstTrainedChampionFrom: string | null;
  prequential: Score | null;
}

/** Counts, models, and the prequential score over the predictions made after the first trained champion. */
export async function pipelineSummary(runner: SqlRunner): Promise<PipelineSummary> {
  const counts = await tableCounts(runner);
  const [models] = await runner.rows<{ trained: string; promoted: string }>(
    `SELECT count() AS trained, countIf(status = 'promoted') AS promoted FROM models FINAL`,
  );
  const [first] = await runner.rows<{ first_date: string; n: string }>(
    `SELECT toString(min(date)) AS first_date, count() AS n FROM predictions FINAL WHERE model_version != 'prior-climatology'`,
  );
  const firstTrainedChampionFrom = first && Number(first.n) > 0 ? first.first_date : null;
  const [prequential] =
    firstTrainedChampionFrom === null
      ? [null]
      : await prequentialScores(runner, 'overall', { from: firstTrainedChampionFrom });
  return {
    counts,
    modelsTrained: Number(models?.trained ?? 0),
    modelsPromoted: Number(models?.promoted ?? 0),
    firstTrainedChampionFrom,
    prequential: prequential ?? null,
  };
}

/**
 * Removes a throw-away deployment (benchmarks): its topics, consumer groups, Redis keys and database.
 * Never called on the default deployment.
 */
export async function removeDeployment(config: Config, logger: Logger): Promise<void> {
  if (config.groupPrefix === 'rainstream') throw new Error('refusing to remove the default deployment');
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    const ours = groups.filter((g) => g.startsWith(`${config.groupPrefix}.`));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
    const topics = Object.values(config.topics);
    const present = new Set(await admin.listTopics());
    const existing = topics.filter((t) => present.has(t));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing });
  } finally {
    await admin.disconnect();
  }
  const redis = createRedis(config.redis);
  try {
    await deleteByPrefix(redis.client, redis.prefix);
  } finally {
    await redis.close();
  }
  const clickhouse = createClickHouse(config.clickhouse, { database: 'default' });
  try {
    await clickhouse.command(`DROP DATABASE IF EXISTS ${quoteIdentifier(config.clickhouse.database)}`);
  } finally {
    await clickhouse.close();
  }
}
