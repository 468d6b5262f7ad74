/**
 * A SqlRunner on chDB (current ClickHouse, in process): the unit tests run every query of the ClickHouse
 * layer on it as well as on the stack's 18.16, so SQL that only one version accepts is caught.
 */
import type { Session } from 'chdb';
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { RainstreamError } from '../../lib/platform/errors.ts';

export type ChdbRunner = SqlRunner & { insertJson(table: string, rows: readonly object[]): Promise<void> };

export function chdbRunner(session: Session): ChdbRunner {
  const run = (text: string, format?: string): string => {
    try {
      return session.query(text, format);
    } catch (error) {
      throw new RainstreamError('CLICKHOUSE_QUERY', (error as Error).message, { cause: error });
    }
  };
  return {
    async command(text) {
      run(text);
    },
    async rows<T>(text: string) {
      return run(text, 'JSONEachRow')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as T);
    },
    async insertJson(table, rows) {
      await session.insert({
        table,
        values: rows.map((r) => JSON.stringify(r)).join('\n'),
        format: 'JSONEachRow',
      });
    },
  };
}
