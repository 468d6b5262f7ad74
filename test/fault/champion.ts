/**
 * The fault suite's fixed champion: a logistic regression trained once, before the slice, on the same
 * features the stream computes, with its clipping and drift reference as the trainer would record them.
 * Every run registers and promotes the same model, so predictions (and drift) are comparable run to run.
 */
import { clipDataset, fitClipping } from '../../lib/domain/features/clipping.ts';
import { FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import { buildTrainingMatrix } from '../../lib/domain/features/matrix.ts';
import type { EventCodec, Observation } from '../../lib/domain/events.ts';
import type { CsvRow } from '../../lib/domain/weather/csv.ts';
import { sliceRows, sliceValues, splitByDate } from '../../lib/ml/dataset.ts';
import { loadModel } from '../../lib/ml/families.ts';
import { permutationImportance } from '../../lib/ml/reference.ts';
import { driftReferenceFor } from '../../consumers/drift/reference.ts';
import { TrainingPool } from '../../lib/ml/worker-pool.ts';
import { promote } from '../../lib/models/promotion.ts';
import { registerModels, type ModelRecord } from '../../lib/models/registry.ts';
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { Config } from '../../lib/platform/config.ts';
import type { Producer } from '../../lib/platform/kafka/client.ts';

const THRESHOLD = 0.5;

/** Trains on every labeled day before `until` (the last 8 weeks of it for the reference's performance). */
export async function trainFixedChampion(rows: readonly CsvRow[], until: string): Promise<ModelRecord> {
  const observations: Observation[] = rows
    .flatMap((r) => (r.ok && r.observation.date < until ? [r.observation] : []))
    .sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : a.date < b.date ? -1 : 1));
  const matrix = buildTrainingMatrix(observations);
  const validationFrom = new Date(Date.parse(`${until}T00:00:00Z`) - 56 * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const split = splitByDate(matrix.dates, validationFrom);
  const trainRaw = sliceRows(matrix.dataset, split.train);
  const trainTarget = sliceValues(matrix.target, split.train);
  const validationRaw = sliceRows(matrix.dataset, split.test);
  const validationTarget = sliceValues(matrix.target, split.test);
  const clip = fitClipping(trainRaw);
  const train = clipDataset(trainRaw, clip);
  const validation = clipDataset(validationRaw, clip);
  const pool = new TrainingPool({ size: 1 });
  try {
    const started = Date.now();
    const outcome = await pool.train({
      family: 'logreg',
      task: 'classification',
      params: {},
      seed: 42,
      train: { data: train, target: trainTarget },
      validation: { data: validation, target: validationTarget },
    });
    const model = loadModel(outcome.artifact, train.featureNames);
    const pick = (values: readonly string[], rows: ArrayLike<number>) => Array.from(rows, (i) => values[i]!);
    const reference = driftReferenceFor({
      train: {
        data: trainRaw,
        dates: pick(matrix.dates, split.train),
        locations: pick(matrix.locations, split.train),
      },
      trainingProbabilities: model.predictBatch(train),
      validation: {
        probabilities: outcome.validationPredictions!,
        labels: validationTarget,
        dates: pick(matrix.dates, split.test),
      },
      importance: permutationImportance((d) => model.predictBatch(d), validation, validationTarget),
      threshold: THRESHOLD,
    });
    let positives = 0;
    for (const y of trainTarget) positives += y;
    return {
      version: `fault-logreg-${until}`,
      family: 'logreg',
      task: 'classification',
      params: {},
      metrics: {},
      featureSetVersion: FEATURE_SET_VERSION,
      trainStart: matrix.dates.reduce((a, b) => (b < a ? b : a)),
      trainEnd: validationFrom,
      rows: trainTarget.length,
      positives,
      codeVersion: 'fault-suite',
      bundle: { model: outcome.artifact, clip },
      reference,
      status: 'candidate',
      trainedAt: started,
      trainSeconds: outcome.trainSeconds,
      peakRssMb: outcome.maxRssMb,
    };
  } finally {
    await pool.close();
  }
}

/** Registers the champion in a deployment and promotes it (registry row, then the model event). */
export async function installChampion(
  record: ModelRecord,
  deps: { clickhouse: ClickHouse; producer: Producer; codec: EventCodec; topics: Config['topics'] },
): Promise<void> {
  await registerModels(deps.clickhouse, [record]);
  await promote(deps, {
    alias: 'champion',
    version: record.version,
    family: record.family,
    previousVersion: null,
    reason: 'the fault suite fixed champion',
  });
}
