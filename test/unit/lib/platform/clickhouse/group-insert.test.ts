import { describe, expect, it } from 'vitest';
import { groupInserts } from '../../../../../lib/platform/clickhouse/group-insert.ts';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';

/** A server stand-in that records each insert and refuses rows marked bad, or everything while "away". */
function recordingServer() {
  const inserts: { table: string; rows: { id: number; bad?: boolean }[] }[] = [];
  let away = false;
  let held: Promise<void> | null = null;
  let open = () => undefined as void;
  return {
    inserts,
    setAway(value: boolean) {
      away = value;
    },
    /** The next insert waits until `open()` is called. */
    hold() {
      held = new Promise<void>((resolve) => (open = resolve));
    },
    open: () => open(),
    async insertRows(table: string, rows: readonly object[]): Promise<number> {
      const typed = rows as { id: number; bad?: boolean }[];
      const wait = held;
      held = null;
      if (wait) await wait;
      if (away) throw new RainstreamError('CLICKHOUSE', 'connection refused', { retriable: true });
      if (typed.some((r) => r.bad)) throw new RainstreamError('CLICKHOUSE_QUERY', 'Cannot parse input');
      inserts.push({ table, rows: [...typed] });
      return rows.length;
    },
  };
}

describe('groupInserts', () => {
  it('sends the calls of one turn of the event loop as one insert per table', async () => {
    const server = recordingServer();
    const grouped = groupInserts(server);
    const results = await Promise.all([
      grouped.insertRows('predictions', [{ id: 1 }, { id: 2 }]),
      grouped.insertRows('predictions', [{ id: 3 }]),
      grouped.insertRows('actuals', [{ id: 4 }]),
    ]);
    expect(results).toEqual([2, 1, 1]);
    expect(server.inserts).toEqual([
      { table: 'predictions', rows: [{ id: 1 }, { id: 2 }, { id: 3 }] },
      { table: 'actuals', rows: [{ id: 4 }] },
    ]);
  });

  it('lets calls that arrive during an insert wait for it, then go together', async () => {
    const server = recordingServer();
    const grouped = groupInserts(server);
    server.hold();
    const first = grouped.insertRows('predictions', [{ id: 1 }]);
    await new Promise((r) => setImmediate(r));
    const later = [
      grouped.insertRows('predictions', [{ id: 2 }]),
      grouped.insertRows('predictions', [{ id: 3 }]),
    ];
    server.open();
    expect(await Promise.all([first, ...later])).toEqual([1, 1, 1]);
    expect(server.inserts.map((i) => i.rows.map((r) => r.id))).toEqual([[1], [2, 3]]);
  });

  it("settles each caller with its own rows' fate when the merged insert is refused", async () => {
    const server = recordingServer();
    const grouped = groupInserts(server);
    const outcomes = await Promise.allSettled([
      grouped.insertRows('predictions', [{ id: 1 }]),
      grouped.insertRows('predictions', [{ id: 2, bad: true }]),
      grouped.insertRows('predictions', [{ id: 3 }]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(server.inserts.map((i) => i.rows.map((r) => r.id))).toEqual([[1], [3]]);
  });

  it('fails every caller at once while the server is away, and inserts once it is back', async () => {
    const server = recordingServer();
    const grouped = groupInserts(server);
    server.setAway(true);
    const outcomes = await Promise.allSettled([
      grouped.insertRows('predictions', [{ id: 1 }]),
      grouped.insertRows('predictions', [{ id: 2 }]),
    ]);
    expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as RainstreamError).retriable)).toBe(
      true,
    );
    expect(server.inserts).toEqual([]);
    server.setAway(false);
    await grouped.insertRows('predictions', [{ id: 1 }]);
    expect(server.inserts).toEqual([{ table: 'predictions', rows: [{ id: 1 }] }]);
  });

  it('caps a merged insert at maxRows, never splitting one call', async () => {
    const server = recordingServer();
    const grouped = groupInserts(server, { maxRows: 3 });
    await Promise.all([
      grouped.insertRows('t', [{ id: 1 }, { id: 2 }]),
      grouped.insertRows('t', [{ id: 3 }, { id: 4 }]),
      grouped.insertRows('t', [{ id: 5 }, { id: 6 }, { id: 7 }, { id: 8 }]),
    ]);
    expect(server.inserts.map((i) => i.rows.length)).toEqual([2, 2, 4]);
  });
});
