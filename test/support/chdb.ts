/**
 * A SqlRunner on chDB (current ClickHouse, in process): the unit tests run every query of the ClickHouse
 * layer on it as well as on the stack's 18.16, so SQL that only one version accepts is caught.
 */
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { afterAll, beforeAll } from 'vitest';
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { loadMigrations, type Migration } from '../../lib/platform/clickhouse/migrate.ts';
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

/**
 * Proves a migration that copies tables for every point a crash could interrupt it: for each k from 0 to
 * its statement count, a database of its own migrated up to the one before and seeded, the first k
 * statements run (the crash), then the whole migration again (the next start: it was not recorded as
 * applied); `check` judges what is left, `where` naming the crash point. Each database is dropped after.
 */
export async function forEveryCrashPoint(
  session: Session,
  migrations: readonly Migration[],
  migration: Migration,
  databasePrefix: string,
  seed: (ch: ChdbRunner) => Promise<void>,
  check: (ch: ChdbRunner, at: { where: string; database: string }) => Promise<void>,
): Promise<void> {
  for (let crashAfter = 0; crashAfter <= migration.statements.length; crashAfter++) {
    const database = `${databasePrefix}_${crashAfter}`;
    session.query(`CREATE DATABASE ${database}`);
    session.query(`USE ${database}`);
    const ch = chdbRunner(session);
    for (const m of migrations.filter((m) => m.version < migration.version)) {
      for (const statement of m.statements) await ch.command(statement);
    }
    await seed(ch);
    for (const statement of migration.statements.slice(0, crashAfter)) await ch.command(statement);
    for (const statement of migration.statements) await ch.command(statement);
    await check(ch, { where: `crash after statement ${crashAfter}`, database });
    session.query(`DROP DATABASE ${database}`);
  }
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../schemas/clickhouse/', import.meta.url));

export interface MigrationSandbox {
  /** The repository's migration of this version (throws when there is none). */
  migration(version: number): Migration;
  /** forEveryCrashPoint on this file's session, after every migration before `migration`. */
  forEveryCrashPoint(
    migration: Migration,
    databasePrefix: string,
    seed: (ch: ChdbRunner) => Promise<void>,
    check: (ch: ChdbRunner, at: { where: string; database: string }) => Promise<void>,
  ): Promise<void>;
}

/**
 * The repository's migrations and one chDB session for a test file, opened before its tests and closed
 * after them: what each copying migration's crash-point proof starts from.
 */
export function migrationSandbox(): MigrationSandbox {
  let session: Session;
  let migrations: Migration[];
  beforeAll(async () => {
    session = new Session();
    migrations = await loadMigrations(MIGRATIONS_DIR);
  });
  afterAll(() => session.close());
  return {
    migration(version) {
      const found = migrations.find((m) => m.version === version);
      if (!found) throw new Error(`no migration ${version} in ${MIGRATIONS_DIR}`);
      return found;
    },
    forEveryCrashPoint: (migration, databasePrefix, seed, check) =>
      forEveryCrashPoint(session, migrations, migration, databasePrefix, seed, check),
  };
}
