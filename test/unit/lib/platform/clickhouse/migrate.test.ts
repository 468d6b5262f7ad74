import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import {
  checksum,
  loadMigrations,
  parseMigration,
  splitStatements,
} from '../../../../../lib/platform/clickhouse/migrate.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../../schemas/clickhouse/', import.meta.url));

describe('splitStatements', () => {
  it('splits at top-level semicolons only', () => {
    const script = `-- header; with a semicolon
CREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory;
/* block; comment */
INSERT INTO a VALUES ('it\\'s; fine');
SELECT \`we;ird\` FROM "b;c"
`;
    expect(splitStatements(script)).toEqual([
      `-- header; with a semicolon\nCREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory`,
      `/* block; comment */\nINSERT INTO a VALUES ('it\\'s; fine')`,
      'SELECT `we;ird` FROM "b;c"',
    ]);
  });

  it('drops empty and comment-only pieces', () => {
    expect(splitStatements(';;  \n-- only a comment\n;')).toEqual([]);
  });

  it('refuses unterminated quotes and comments', () => {
    expect(() => splitStatements(`SELECT 'open`)).toThrow(RainstreamError);
    expect(() => splitStatements(`SELECT 1 /* open`)).toThrow(RainstreamError);
  });
});

describe('parseMigration', () => {
  it('reads version and name from the file name', () => {
    const m = parseMigration('012_add_things.sql', 'CREATE TABLE t (a UInt8) ENGINE = Memory;');
    expect(m.version).toBe(12);
    expect(m.name).toBe('add_things');
    expect(m.statements).toHaveLength(1);
    expect(m.checksum).toBe(checksum('CREATE TABLE t (a UInt8) ENGINE = Memory;'));
  });

  it('has a checksum blind to line endings only', () => {
    expect(checksum('a\r\nb')).toBe(checksum('a\nb'));
    expect(checksum('a\nb')).not.toBe(checksum('a\nb '));
  });

  it('refuses badly named or empty files', () => {
    expect(() => parseMigration('add_things.sql', 'SELECT 1')).toThrow(RainstreamError);
    expect(() => parseMigration('001_x.sql', '-- nothing')).toThrow(RainstreamError);
  });
});

describe('the project migrations', () => {
  // A table copy (INSERT ... SELECT, RENAME) is re-runnable as a whole rather than statement by statement:
  // models-copy-migration.test.ts and task-keys-migration.test.ts prove it for a crash after every one of
  // their statements.
  it('load in version order, each statement idempotent (IF NOT EXISTS, or IF EXISTS for a drop)', async () => {
    const migrations = await loadMigrations(MIGRATIONS_DIR);
    expect(migrations.length).toBeGreaterThanOrEqual(7);
    expect(migrations.map((m) => m.version)).toEqual(
      [...migrations.map((m) => m.version)].sort((a, b) => a - b),
    );
    for (const m of migrations) {
      for (const s of m.statements)
        expect(s).toMatch(
          /\bDROP TABLE IF EXISTS\b|\bIF NOT EXISTS\b|^INSERT INTO \w+ (\([^)]*\)\s+)?SELECT\b|^RENAME TABLE\b/,
        );
    }
  });

  it('use nothing ClickHouse 18.16 lacks', async () => {
    for (const m of await loadMigrations(MIGRATIONS_DIR)) {
      const text = m.statements.join('\n');
      expect(text).not.toMatch(/DateTime64|LowCardinality|\bOVER\s*\(|\{\w+:\w+\}|toStartOfWeek/i);
    }
  });
});
