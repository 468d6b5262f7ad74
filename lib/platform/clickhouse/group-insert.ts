import { isRetriable } from '../errors.ts';
import type { ClickHouse } from './client.ts';

/**
 * Group commit for inserts. ClickHouse writes one part per insert and each insert is a round trip of its
 * own; a pipeline process handles several partitions side by side, and each of their batches inserts into
 * the same few tables. Calls for a table that arrive while an insert of that table is on its way (or in the
 * same turn of the event loop) wait for it and then go to the server as one insert. A lone call goes at
 * once: nothing waits for a batch that may never fill.
 *
 * A caller's promise settles with the fate of its own rows, as if it had inserted alone: when the merged
 * insert is refused (not retriable), each caller's rows are inserted on their own, so one partition's bad
 * row never fails another partition's batch, and the caller's own row-by-row isolation stays exact. A
 * retriable failure (the server away) fails every caller, who backs off as before. Rows that are
 * re-sent after such a failure are idempotent by the tables' keys, merged or not.
 */
export function groupInserts<C extends Pick<ClickHouse, 'insertRows'>>(
  inner: C,
  options: { maxRows?: number } = {},
): C {
  const maxRows = options.maxRows ?? 50_000;
  const tables = new Map<string, TableQueue>();

  const insertAlone = async (table: string, call: WaitingInsert): Promise<void> => {
    try {
      call.resolve(await inner.insertRows(table, call.rows));
    } catch (error) {
      call.reject(error);
    }
  };

  const insertGroup = async (table: string, group: WaitingInsert[]): Promise<void> => {
    if (group.length === 1) return insertAlone(table, group[0]!);
    const rows: object[] = [];
    for (const call of group) for (const row of call.rows) rows.push(row);
    try {
      await inner.insertRows(table, rows);
    } catch (error) {
      if (isRetriable(error)) {
        for (const call of group) call.reject(error);
        return;
      }
      for (const call of group) await insertAlone(table, call);
      return;
    }
    for (const call of group) call.resolve(call.rows.length);
  };

  const drain = async (table: string, queue: TableQueue): Promise<void> => {
    while (queue.waiting.length > 0) {
      let rows = 0;
      let take = 0;
      while (
        take < queue.waiting.length &&
        (take === 0 || rows + queue.waiting[take]!.rows.length <= maxRows)
      )
        rows += queue.waiting[take++]!.rows.length;
      await insertGroup(table, queue.waiting.splice(0, take));
    }
    queue.draining = false;
  };

  const insertRows: ClickHouse['insertRows'] = (table, rows, insertOptions) => {
    // An explicit chunk size is a caller managing its own batches: it goes as asked.
    if (rows.length === 0 || insertOptions !== undefined) return inner.insertRows(table, rows, insertOptions);
    let queue = tables.get(table);
    if (!queue) tables.set(table, (queue = { waiting: [], draining: false }));
    const q = queue;
    return new Promise<number>((resolve, reject) => {
      q.waiting.push({ rows, resolve, reject });
      if (q.draining) return;
      q.draining = true;
      // The calls of this turn of the event loop (partitions whose batches finished together) go as one.
      setImmediate(() => void drain(table, q));
    });
  };

  return { ...inner, insertRows };
}

interface WaitingInsert {
  rows: readonly object[];
  resolve(inserted: number): void;
  reject(error: unknown): void;
}

interface TableQueue {
  waiting: WaitingInsert[];
  draining: boolean;
}
