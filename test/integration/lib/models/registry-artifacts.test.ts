/**
 * Artifacts through the real ClickHouse registry: a model registered now is stored in the binary format
 * and loads back predicting exactly as before; a row written by an older version (JSON artifact) still
 * loads; a corrupt artifact fails with the typed format error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../../lib/domain/features/feature-set.ts';
import { datasetFromRows } from '../../../../lib/ml/dataset.ts';
import { forestFamily } from '../../../../lib/ml/forest.ts';
import { loadModel } from '../../../../lib/ml/families.ts';
import { ModelFormatError, type Model } from '../../../../lib/ml/model.ts';
import { loadStoredModel, registerModels, type ModelRecord } from '../../../../lib/models/registry.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';

function record(version: string, model: Model): ModelRecord {
  return {
    version,
    family: model.family,
    task: 'classification',
    params: {},
    metrics: {},
    featureSetVersion: FEATURE_SET_VERSION,
    trainStart: '2010-01-01',
    trainEnd: '2010-12-31',
    rows: 300,
    positives: 100,
    codeVersion: 'test',
    bundle: { model: model.toJSON(), clip: null },
    reference: null,
    status: 'candidate',
    trainedAt: Date.now(),
    trainSeconds: 0.1,
    peakRssMb: 1,
  };
}

describe('registry artifacts', () => {
  let ctx: TestContext;
  const rows: number[][] = [];
  const target: number[] = [];
  for (let i = 0; i < 300; i++) {
    const row = FEATURE_NAMES.map((_, f) => ((i * 7919 + f * 104729) % 1000) / 10);
    rows.push(row);
    target.push(row[0]! + row[1]! > 100 ? 1 : 0);
  }
  const data = datasetFromRows(FEATURE_NAMES, rows);
  const model = forestFamily.fit(
    data,
    Float64Array.from(target),
    'classification',
    { nTrees: 4, threads: 1 },
    { seed: 1 },
  );

  beforeAll(async () => {
    ctx = await testContext('registry-artifacts');
  });
  afterAll(async () => {
    await ctx?.cleanup();
  });

  it('stores the binary format and loads it back predicting exactly as before', async () => {
    await registerModels(ctx.clickhouse, [record('forest-bin', model)]);
    const [row] = await ctx.clickhouse.rows<{ artifact: string }>(
      "SELECT artifact FROM models WHERE version = 'forest-bin'",
    );
    expect(row!.artifact.startsWith('rsma:')).toBe(true);
    const stored = await loadStoredModel(ctx.clickhouse, 'forest-bin');
    const loaded = loadModel(stored!.bundle.model, FEATURE_NAMES);
    expect(Array.from(loaded.predictBatch(data))).toEqual(Array.from(model.predictBatch(data)));
  });

  it('loads a JSON artifact written before the binary format, and refuses a corrupt one', async () => {
    // Rows as an older version wrote them: the same columns, the artifact as JSON text.
    const row = (version: string, artifact: string) => ({
      version,
      family: 'forest',
      task: 'classification',
      params: '{}',
      metrics: '{}',
      feature_set_version: FEATURE_SET_VERSION,
      train_start: '2010-01-01',
      train_end: '2010-12-31',
      rows: 300,
      positives: 100,
      code_version: 'old',
      artifact,
      reference: 'null',
      status: 'candidate',
      trained_at: Math.floor(Date.now() / 1000),
      train_seconds: 0.1,
      peak_rss_mb: 1,
      ver: 1,
    });
    await ctx.clickhouse.insertRows('models', [
      row('forest-json', JSON.stringify({ model: model.toJSON(), clip: null })),
      row('forest-bad', 'rsma:bm90IGEgbW9kZWw='),
    ]);
    const old = await loadStoredModel(ctx.clickhouse, 'forest-json');
    expect(loadModel(old!.bundle.model, FEATURE_NAMES).predictRow(rows[0]!)).toBe(model.predictRow(rows[0]!));
    await expect(loadStoredModel(ctx.clickhouse, 'forest-bad')).rejects.toBeInstanceOf(ModelFormatError);
  });
});
