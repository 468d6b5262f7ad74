import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { RainstreamError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createClickHouse, type SqlRunner } from './client.ts';
import { quoteIdentifier, quoteString } from './sql.ts';

export interface Migration {
  version: number;
  name: string;
  /** sha256 of the file with line endings normalised: an applied migration must never change. */
  checksum: string;
  statements: string[];
}

export interface MigrationReport {
  applied: number[];
  alreadyApplied: number[];
}

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * Splits a SQL script into statements at top-level semicolons (the HTTP interface runs one statement
 * per request). Knows quoted strings and identifiers (with backslash escapes) and both comment styles,
 * so a `;` inside them does not split. Comment-only pieces are dropped.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let hasCode = false;
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i];
    if (c === '-' && script[i + 1] === '-') {
      const end = script.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      current += script.slice(i, stop);
      i = stop;
    } else if (c === '/' && script[i + 1] === '*') {
      const end = script.indexOf('*/', i + 2);
      if (end === -1) throw new RainstreamError('MIGRATION', 'unterminated /* comment');
      current += script.slice(i, end + 2);
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < n && script[j] !== c) j += script[j] === '\\' ? 2 : 1;
      if (j >= n) throw new RainstreamError('MIGRATION', `unterminated ${c} quote`);
      current += script.slice(i, j + 1);
      hasCode = true;
      i = j + 1;
    } else if (c === ';') {
      if (hasCode) statements.push(current.trim());
      current = '';
      hasCode = false;
      i++;
    } else {
      if (!/\s/.test(c)) hasCode = true;
      current += c;
      i++;
    }
  }
  if (hasCode) statements.push(current.trim());
  return statements;
}

export function checksum(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

export function parseMigration(fileName: string, text: string): Migration {
  const match = FILE_NAME.exec(fileName);
  if (!match) throw new RainstreamError('MIGRATION', `migration file ${fileName} is not named NNN_name.sql`);
  const statements = splitStatements(text);
  if (statements.length === 0)
    throw new RainstreamError('MIGRATION', `migration ${fileName} has no statement`);
  return { version: Number(match[1]), name: match[2], checksum: checksum(text), statements };
}

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) migrations.push(parseMigration(file, await readFile(join(dir, file), 'utf8')));
  for (let k = 1; k < migrations.length; k++) {
    if (migrations[k].version === migrations[k - 1].version) {
      throw new RainstreamError('MIGRATION', `two migrations have version ${migrations[k].version}`);
    }
  }
  return migrations.sort((a, b) => a.version - b.version);
}

const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  version UInt32,
  name String,
  checksum String,
  applied_at DateTime('UTC')
) ENGINE = MergeTree ORDER BY version`;

/**
 * Applies, in version order, every migration not yet recorded in `schema_migrations`, each statement
 * in turn, then records it. The runner must already be scoped to the target database. A migration
 * whose file changed after it was applied stops everything (MIGRATION_CHECKSUM): write a new one.
 * Statements must be idempotent (IF NOT EXISTS): a migration that failed half-way runs again whole.
 */
export async function migrate(
  runner: SqlRunner,
  migrations: readonly Migration[],
  logger?: Logger,
): Promise<MigrationReport> {
  await runner.command(CREATE_MIGRATIONS_TABLE);
  const rows = await runner.rows<{ version: number | string; checksum: string }>(
    `SELECT version, checksum FROM ${MIGRATIONS_TABLE}`,
  );
  const applied = new Map(rows.map((r) => [Number(r.version), r.checksum]));
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    const recorded = applied.get(m.version);
    if (recorded !== undefined) {
      if (recorded !== m.checksum) {
        throw new RainstreamError(
          'MIGRATION_CHECKSUM',
          `migration ${m.version}_${m.name} changed after it was applied; add a new migration instead`,
          { details: { version: m.version, applied: recorded, file: m.checksum } },
        );
      }
      report.alreadyApplied.push(m.version);
      continue;
    }
    for (const statement of m.statements) {
      try {
        await runner.command(statement);
      } catch (error) {
        throw new RainstreamError(
          'MIGRATION',
          `migration ${m.version}_${m.name} failed: ${(error as Error).message}`,
          {
            cause: error,
            details: { version: m.version },
          },
        );
      }
    }
    await runner.command(
      `INSERT INTO ${MIGRATIONS_TABLE} (version, name, checksum, applied_at) VALUES ` +
        `(${m.version}, ${quoteString(m.name)}, ${quoteString(m.checksum)}, now())`,
    );
    report.applied.push(m.version);
    logger?.info({ version: m.version, name: m.name }, 'applied migration');
  }
  return report;
}

/** `CREATE DATABASE IF NOT EXISTS` through a connection to `default`, which always exists. */
export async function ensureDatabase(
  config: Config['clickhouse'],
  database = config.database,
): Promise<void> {
  const admin = createClickHouse(config, { database: 'default' });
  try {
    await admin.command(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`);
  } finally {
    await admin.close();
  }
}

/** `DROP DATABASE IF EXISTS`, given a connection that is not to that database. */
export async function dropDatabase(admin: SqlRunner, database: string): Promise<void> {
  await admin.command(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)}`);
}

/** Creates the database when missing and applies the migrations in `dir`; what `npm run setup` runs. */
export async function migrateDatabase(
  config: Config['clickhouse'],
  dir: string,
  logger?: Logger,
  database = config.database,
): Promise<MigrationReport> {
  const migrations = await loadMigrations(dir);
  await ensureDatabase(config, database);
  const clickhouse = createClickHouse(config, { database });
  try {
    return await migrate(clickhouse, migrations, logger);
  } finally {
    await clickhouse.close();
  }
}
