/**
 * The registry CLI on the real stack: list, promote by hand, roll back. A promotion writes the alias row
 * and the model event, which a running champion watcher follows without a restart.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChampionWatcher, type ChampionWatcher } from '../../../lib/models/champion-watcher.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../lib/domain/features/feature-set.ts';
import { climatologyFamily } from '../../../lib/ml/climatology.ts';
import { datasetFromRows } from '../../../lib/ml/dataset.ts';
import { currentAlias, registerModels, type ModelRecord } from '../../../lib/models/registry.ts';
import { testContext, type TestContext } from '../../support/integration.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function climatologyRecord(version: string, rainRate: number): ModelRecord {
  // Two stations' worth of rows, rain on a share of them, so the two versions predict differently.
  const rows: number[][] = [];
  const target: number[] = [];
  const loc = FEATURE_NAMES.indexOf('locationCode');
  const month = FEATURE_NAMES.indexOf('month');
  for (let i = 0; i < 200; i++) {
    const row = new Array<number>(FEATURE_NAMES.length).fill(NaN);
    row[loc] = i % 2;
    row[month] = 1 + (i % 12);
    rows.push(row);
    target.push(i / 200 < rainRate ? 1 : 0);
  }
  const data = datasetFromRows(FEATURE_NAMES, rows);
  const model = climatologyFamily.fit(data, Float64Array.from(target), 'classification', {}, { seed: 1 });
  return {
    version,
    family: 'climatology',
    task: 'classification',
    params: {},
    metrics: { rocAuc: 0.6, brier: 0.2 },
    featureSetVersion: FEATURE_SET_VERSION,
    trainStart: '2010-01-01',
    trainEnd: '2010-12-31',
    rows: 200,
    positives: Math.round(200 * rainRate),
    codeVersion: 'test',
    bundle: { model: model.toJSON(), clip: null },
    reference: null,
    status: 'candidate',
    trainedAt: Date.now(),
    trainSeconds: 0.01,
    peakRssMb: 1,
  };
}

describe('models CLI', () => {
  let ctx: TestContext;
  let watcher: ChampionWatcher;
  const cli = (...args: string[]) =>
    run(process.execPath, ['ops/rainstream.ts', 'models', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...ctx.env },
    });

  beforeAll(async () => {
    ctx = await testContext('models-cli');
    await ctx.ensureTopics();
    const codec = await ctx.registerSchemas();
    await registerModels(ctx.clickhouse, [
      climatologyRecord('clim-a', 0.1),
      climatologyRecord('clim-b', 0.6),
    ]);
    watcher = await startChampionWatcher({
      kafka: ctx.kafka,
      codec,
      clickhouse: ctx.clickhouse,
      topics: ctx.config.topics,
      logger: ctx.logger,
    });
  });

  afterAll(async () => {
    await watcher?.close();
    await ctx?.cleanup();
  });

  it('lists the registry and says the prior serves before any promotion', async () => {
    const { stdout } = await cli('list');
    expect(stdout).toMatch(/clim-a\s+climatology/);
    expect(stdout).toMatch(/clim-b\s+climatology/);
    expect((await cli('champion')).stdout).toMatch(/prior-climatology/);
    expect(watcher.current().version).toBe('prior-climatology');
  });

  it('promotes by hand, and a running watcher switches without a restart', async () => {
    await cli('promote', 'clim-a');
    await watcher.waitFor('clim-a', 30_000);
    await cli('promote', 'clim-b');
    await watcher.waitFor('clim-b', 30_000);
    expect((await currentAlias(ctx.clickhouse, 'champion'))?.version).toBe('clim-b');
  });

  it('rolls back to the previous champion', async () => {
    const { stdout } = await cli('rollback');
    expect(stdout).toMatch(/clim-b -> clim-a/);
    await watcher.waitFor('clim-a', 30_000);
    const alias = await currentAlias(ctx.clickhouse, 'champion');
    expect(alias).toMatchObject({ version: 'clim-a', previousVersion: 'clim-b' });
  });

  it('refuses an unknown version with a clear message', async () => {
    await expect(cli('promote', 'no-such-model')).rejects.toMatchObject({
      stderr: expect.stringMatching(/no model version no-such-model/),
    });
  });
});
