import { describe, expect, it } from 'vitest';
import { insertRowsIsolating } from '../../../../consumers/shell/runtime.ts';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import type { ConsumedRecord } from '../../../../lib/platform/kafka/consumer.ts';

const record = (offset: number): ConsumedRecord => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: null,
  value: null,
  headers: {},
  timestamp: 0,
});

/** Stands for the server's answer to an INSERT: refuses rows whose `bad` is set, or everything. */
function sink(options: { refuseAll?: boolean; down?: boolean } = {}) {
  const inserted: object[] = [];
  return {
    inserted,
    async insertRows(_table: string, rows: readonly object[]) {
      if (options.down) throw new RainstreamError('CLICKHOUSE', 'connect ECONNREFUSED');
      if (options.refuseAll || rows.some((r) => (r as { bad?: boolean }).bad)) {
        throw new RainstreamError('CLICKHOUSE_QUERY', 'Cannot parse input');
      }
      inserted.push(...rows);
      return rows.length;
    },
  };
}

describe('insertRowsIsolating', () => {
  const rows = [
    { row: { table: 'p', row: { n: 1 } }, record: record(1) },
    { row: { table: 'p', row: { n: 2, bad: true } }, record: record(2) },
    { row: { table: 'p', row: { n: 3 } }, record: record(3) },
  ];

  it('narrows a refusal down to the rows refused, and returns their records for the DLQ', async () => {
    const s = sink();
    const refused = await insertRowsIsolating(s, rows);
    expect(refused.map((r) => r.record.offset)).toEqual(['2']);
    expect(s.inserted).toEqual([{ n: 1 }, { n: 3 }]);
  });

  it("throws when the sink refuses every row: that is the sink's fault, not the records'", async () => {
    await expect(insertRowsIsolating(sink({ refuseAll: true }), rows)).rejects.toMatchObject({
      code: 'CLICKHOUSE_QUERY',
    });
  });

  it('throws an outage as is, for the batch to wait', async () => {
    await expect(insertRowsIsolating(sink({ down: true }), rows)).rejects.toMatchObject({
      code: 'CLICKHOUSE',
    });
  });
});
