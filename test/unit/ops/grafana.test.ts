/**
 * The Grafana provisioning (Grafana cannot run on these machines): the dashboard JSON is well formed for
 * Grafana, every panel reads one of the provisioned datasources, every ClickHouse panel's SQL runs on current
 * ClickHouse (chDB) over the project's migrations, Grafana's macros replaced by what they expand to, and
 * every Prometheus panel's query parses (Debian's promtool) and names only metrics the processes export.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    targets: { refId: string; rawSql?: string; expr?: string; datasource: { uid: string } }[];
  }[];
};
const datasources = read('ops/grafana/provisioning/datasources/clickhouse.yml');
const prometheusSource = read('ops/grafana/provisioning/datasources/prometheus.yml');
const CLICKHOUSE = { type: 'grafana-clickhouse-datasource', uid: 'rainstream-clickhouse' };
const PROMETHEUS = { type: 'prometheus', uid: 'rainstream-prometheus' };
const isPrometheus = (p: { datasource: { uid: string } }) => p.datasource.uid === PROMETHEUS.uid;
/** Metric families the processes export (lib/platform/metrics.ts, api/services/prometheus.ts, the host). */
const EXPORTED = [
  'rainstream_stage_event_latency_seconds_bucket',
  'rainstream_stage_batch_seconds_bucket',
  'rainstream_stage_records_in_total',
  'rainstream_stage_records_out_total',
  'rainstream_stage_dlq_total',
  'rainstream_consumer_lag',
  'rainstream_http_request_duration_seconds_bucket',
  'rainstream_training_run_seconds_bucket',
];

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

  it('reads only the provisioned datasources', () => {
    expect(datasources).toContain('uid: rainstream-clickhouse');
    expect(datasources).toContain('type: grafana-clickhouse-datasource');
    expect(prometheusSource).toContain('uid: rainstream-prometheus');
    expect(prometheusSource).toContain('type: prometheus');
    for (const p of dashboard.panels) {
      expect([CLICKHOUSE, PROMETHEUS], p.title).toContainEqual(p.datasource);
      for (const t of p.targets) expect(t.datasource.uid).toBe(p.datasource.uid);
    }
  });

  it('shows the per-stage processing latency from the processes metrics', () => {
    const exprs = dashboard.panels.filter(isPrometheus).flatMap((p) => p.targets.map((t) => t.expr!));
    expect(exprs.some((e) => e.includes('rainstream_stage_event_latency_seconds_bucket'))).toBe(true);
    expect(exprs.some((e) => e.includes('rainstream_stage_batch_seconds_bucket'))).toBe(true);
    expect(exprs.some((e) => e.includes('rainstream_training_run_seconds_bucket'))).toBe(true);
    for (const e of exprs) {
      const names = e.match(/rainstream_[a-z0-9_]+/g) ?? [];
      expect(names.length, e).toBeGreaterThan(0);
      for (const n of names) expect(EXPORTED, e).toContain(n);
    }
  });

  it('has Prometheus queries that parse (promtool)', () => {
    const panels = dashboard.panels.filter(isPrometheus);
    const dir = mkdtempSync(join(tmpdir(), 'rainstream-grafana-'));
    try {
      const rules = panels
        .flatMap((p) => p.targets)
        .map((t, i) => `      - record: panel:query_${i}\n        expr: ${JSON.stringify(t.expr)}`)
        .join('\n');
      const file = join(dir, 'panels.yml');
      writeFileSync(file, `groups:\n  - name: panels\n    rules:\n${rules}\n`);
      // promtool exits non-zero, naming the query, when one does not parse.
      execFileSync('promtool', ['check', 'rules', file], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const p of dashboard.panels.filter((x) => !isPrometheus(x))) {
    it(`panel "${p.title}" runs on ClickHouse 26.x`, async () => {
      for (const t of p.targets)
        await expect(runner.rows(expandMacros(t.rawSql!))).resolves.toBeInstanceOf(Array);
    });
  }
});
