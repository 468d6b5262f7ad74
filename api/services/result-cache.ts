/**
 * Answers of the analytics routes (quality, drift, history), kept while the data under them is unchanged.
 * A quality report joins every prediction with its actual, three times over: a second or more on a busy
 * machine, for numbers that change only when a row is written. The data's version is read from ClickHouse's
 * own bookkeeping (the active parts of the database: rows, parts and the highest block number, which every
 * insert raises and every merge changes), a query that reads no table data (a few milliseconds). It is
 * read afresh for every request, so an answer never predates a write that completed before the request
 * (a client that writes, then reads, sees its write). Identical requests in flight share one computation.
 */
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';

export interface ResultCache {
  /** The value of `key` at the data's current version: cached, or computed (once, for every caller). */
  get<T>(key: string, compute: () => Promise<T>): Promise<T>;
  stats(): { hits: number; misses: number; entries: number };
}

/** Every active part of the connection's database: any insert or merge changes this text. */
export const DATA_VERSION_SQL = `SELECT concat(toString(count()), '/', toString(sum(rows)), '/',
  toString(sum(max_block_number)), '/', toString(max(modification_time))) AS version
FROM system.parts WHERE database = currentDatabase() AND active`;

export function createResultCache(clickhouse: SqlRunner, options: { maxEntries?: number } = {}): ResultCache {
  const maxEntries = options.maxEntries ?? 500;
  const entries = new Map<string, { version: string; value: Promise<unknown> }>();
  const counts = { hits: 0, misses: 0 };

  const currentVersion = async (): Promise<string> => {
    const rows = await clickhouse.rows<{ version: string }>(DATA_VERSION_SQL);
    return String(rows[0]?.version ?? '');
  };

  return {
    async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
      const v = await currentVersion();
      const entry = entries.get(key);
      if (entry !== undefined && entry.version === v) {
        counts.hits++;
        return entry.value as Promise<T>;
      }
      counts.misses++;
      // The version read before computing: a write during the computation leaves this entry behind it, so
      // the next request computes again rather than keeping an answer that may predate the write.
      const value = compute();
      if (entries.size >= maxEntries) entries.clear();
      const mine = { version: v, value };
      entries.set(key, mine);
      value.catch(() => {
        if (entries.get(key) === mine) entries.delete(key);
      });
      return value;
    },
    stats: () => ({ ...counts, entries: entries.size }),
  };
}
