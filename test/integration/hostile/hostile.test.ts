/**
 * The hostile-input corpus (test/hostile/corpus.ts) against a deployment of this test on the real stack,
 * as `npm run check:hostile` runs it: every case gets its expected outcome (a DLQ record naming field and
 * reason, a 4xx naming the field, or the valid input accepted unchanged), and nothing crashes, nothing is
 * dropped silently, no impossible row reaches ClickHouse or Redis, no request answers 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, runHostileCheck, type HostileReport } from '../../hostile/harness.ts';
import { testContext, type TestContext } from '../../support/integration.ts';

describe('hostile input', () => {
  let ctx: TestContext;
  let report: HostileReport;

  beforeAll(async () => {
    ctx = await testContext('hostile');
    report = await runHostileCheck({ env: { ...ctx.env }, logger: ctx.logger, settleMs: 90_000 });
  }, 600_000);

  afterAll(async () => {
    await ctx?.cleanup();
  });

  it('gives every case its expected outcome', () => {
    const failed = report.results
      .filter((r) => !r.ok)
      .map((r) => `${r.id}: expected ${r.expected}, got ${r.observed}`);
    expect(failed, formatReport(report)).toEqual([]);
  });

  it('has no crash, no silent drop, no corrupted row and no 5xx', () => {
    expect(report.crashes).toEqual([]);
    expect(report.corrupted).toEqual([]);
    expect(report.summary).toMatchObject({
      crashes: 0,
      silent_drops: 0,
      corrupted: 0,
      http_5xx: 0,
      mismatches: 0,
    });
    expect(report.summary.cases).toBeGreaterThanOrEqual(100);
    expect(report.summary.dlq_with_reason + report.summary.http_4xx + report.summary.accepted_valid).toBe(
      report.summary.cases,
    );
  });
});
