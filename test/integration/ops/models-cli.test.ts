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
      // A max_temp model's registry row (the CLI moves aliases; it does not load the artifact).
      { ...climatologyRecord('max_temp.mt-a', 0.1), task: 'max_temp', metrics: { r2: 0.81, rmse: 2.9 } },
      { ...climatologyRecord('max_temp.mt-b', 0.1), task: 'max_temp', metrics: { r2: 0.83, rmse: 2.7 } },
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

  it("moves max_temp's champion with --task, apart from rain's, and lists only its models", async () => {
    const before = await currentAlias(ctx.clickhouse, 'champion');
    await cli('promote', 'max_temp.mt-a', '--task', 'max_temp');
    const { stdout } = await cli('promote', 'max_temp.mt-b', '--task', 'max_temp');
    expect(stdout).toMatch(/max_temp\.champion: max_temp\.mt-a -> max_temp\.mt-b/);
    expect((await cli('rollback', '--task', 'max_temp')).stdout).toMatch(/max_temp\.mt-b -> max_temp\.mt-a/);
    expect(await currentAlias(ctx.clickhouse, 'max_temp.champion')).toMatchObject({
      version: 'max_temp.mt-a',
      previousVersion: 'max_temp.mt-b',
    });
    expect(await currentAlias(ctx.clickhouse, 'champion')).toEqual(before);
    const list = (await cli('list', '--task', 'max_temp')).stdout;
    expect(list).toMatch(/r2\s+rmse/);
    expect(list).toMatch(/\*max_temp\.mt-a\s+climatology.*0\.8100\s+2\.9000/);
    expect(list).not.toMatch(/clim-a/);
    expect((await cli('champion', '--task', 'max_temp')).stdout).toMatch(/max_temp\.mt-a/);
    expect((await cli('list')).stdout).not.toMatch(/max_temp\.mt-a/);
  });

  it("refuses another task's model and an unknown task, naming them", async () => {
    await expect(cli('promote', 'clim-a', '--task', 'max_temp')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/clim-a is a rain model: it cannot be max_temp's max_temp\.champion/),
    });
    await expect(cli('promote', 'max_temp.mt-a')).rejects.toMatchObject({
      stderr: expect.stringMatching(/max_temp\.mt-a is a max_temp model/),
    });
    await expect(cli('list', '--task', 'snow')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/task/),
    });
  });

  it('refuses an unknown version with a clear message', async () => {
    await expect(cli('promote', 'no-such-model')).rejects.toMatchObject({
      stderr: expect.stringMatching(/no model version no-such-model/),
    });
  });
});
