/**
 * The Grafana provisioning (Grafana cannot run on these machines): the dashboard JSON is well formed for
 * Grafana, every panel reads the provisioned ClickHouse datasource, and every panel's SQL runs on current
 * ClickHouse (chDB) over the project's migrations, Grafana's macros replaced by what they expand to.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../lib/platform/clickhouse/migrate.ts';
import type { SqlRunner } from '../../../lib/platform/clickhouse/client.ts';

const read = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), 'utf8');
const dashboard = JSON.parse(read('ops/grafana/dashboards/rainstream.json')) as {
  uid: string;
  schemaVersion: number;
  panels: {
    id: number;
    type: string;
    title: string;
    datasource: { type: string; uid: string };
    gridPos: { x: number; y: number; w: number; h: number };
    targets: { refId: string; rawSql: string; datasource: { uid: string } }[];
  }[];
};
const datasources = read('ops/grafana/provisioning/datasources/clickhouse.yml');

/** What Grafana's ClickHouse plugin expands `$__timeFilter(col)` to, for a fixed range. */
function expandMacros(sql: string): string {
  return sql.replace(
    /\$__timeFilter\(([^()]*(?:\([^()]*\))?[^()]*)\)/g,
    (_m, column: string) => `${column} >= toDateTime(1262304000) AND ${column} <= toDateTime(1893456000)`,
  );
}

let session: Session;
let runner: SqlRunner;

beforeAll(async () => {
  session = new Session();
  session.query('CREATE DATABASE IF NOT EXISTS grafana_check');
  session.query('USE grafana_check');
  runner = {
    async command(text) {
      session.query(text);
    },
    async rows<T>(text: string) {
      return session
        .query(text, 'JSONEachRow')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as T);
    },
  };
  await migrate(
    runner,
    await loadMigrations(fileURLToPath(new URL('../../../schemas/clickhouse/', import.meta.url))),
  );
});

afterAll(() => session.close());

describe('Grafana dashboard', () => {
  it('is a dashboard Grafana provisions: uid, schema version, panels with unique ids inside a 24-column grid', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(['timeseries', 'table', 'stat', 'barchart'], p.title).toContain(p.type);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
    }
  });

  it('reads only the provisioned ClickHouse datasource', () => {
    expect(datasources).toContain('uid: rainstream-clickhouse');
    expect(datasources).toContain('type: grafana-clickhouse-datasource');
    for (const p of dashboard.panels) {
      expect(p.datasource).toEqual({ type: 'grafana-clickhouse-datasource', uid: 'rainstream-clickhouse' });
      for (const t of p.targets) expect(t.datasource.uid).toBe('rainstream-clickhouse');
    }
  });

  for (const p of dashboard.panels) {
    it(`panel "${p.title}" runs on ClickHouse 26.x`, async () => {
      for (const t of p.targets)
        await expect(runner.rows(expandMacros(t.rawSql))).resolves.toBeInstanceOf(Array);
    });
  }
});
