/**
 * One retraining: split the labeled history chronologically, learn clipping on the training rows, train
 * every candidate family in the worker pool (off the event loop), score candidates and the current
 * champion on the same validation window, select and gate. Returns the registry records and the decision;
 * the trainer shell writes them. No Kafka here, so it is tested with the real pool and no services.
 */
import type { Champion } from '../../lib/models/champion.ts';
import { clipDataset, fitClipping, type ClipBounds } from '../../lib/domain/features/clipping.ts';
import { FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import { classificationReport, type ClassificationReport } from '../../lib/ml/metrics.ts';
import { loadModel } from '../../lib/ml/families.ts';
import type { Dataset, ModelArtifact } from '../../lib/ml/model.ts';
import { permutationImportance } from '../../lib/ml/reference.ts';
import { driftReferenceFor } from '../drift/reference.ts';
import { selectModel, type Candidate, type SelectionDecision } from '../../lib/ml/selection.ts';
import type { TrainingPool } from '../../lib/ml/worker-pool.ts';
import type { ModelRecord } from '../../lib/models/registry.ts';
import type { LabeledHistory } from './labeled-history.ts';
import { splitRows, trainingWindow, type DueTraining } from './step.ts';

export interface CandidateSpec {
  family: string;
  params: Record<string, unknown>;
  /** Fewest training rows this family is worth training on. */
  minRows: number;
}

/**
 * The families that compete every week. mlrf (ml-random-forest) is left out: on its bounded sample it
 * costs seconds and cannot win (see bench:train); it competes in the benchmark instead.
 */
export const WEEKLY_CANDIDATES: readonly CandidateSpec[] = [
  { family: 'climatology', params: {}, minRows: 1 },
  { family: 'logreg', params: {}, minRows: 200 },
  { family: 'gbdt', params: { maxIterations: 200, learningRate: 0.12 }, minRows: 500 },
  { family: 'forest', params: { nTrees: 40, minSamplesLeaf: 20, threads: 1 }, minRows: 500 },
];

export interface TrainingRunOptions {
  pool: TrainingPool;
  history: LabeledHistory;
  due: DueTraining;
  champion: Champion;
  candidates?: readonly CandidateSpec[];
  threshold: number;
  minRows: number;
  validationWeeks?: number;
  seed?: number;
  codeVersion: string;
  clock?: () => number;
  refit?: { full: boolean; reason: string };
}

export interface TrainingRunResult {
  status: 'trained' | 'skipped';
  reason: string;
  records: ModelRecord[];
  decision: SelectionDecision | null;
  /** Version of the winner (promoted or not); null when nothing was eligible. */
  winnerVersion: string | null;
  trainRows: number;
  validationRows: number;
  trainStart: string | null;
}

export function versionOf(family: string, week: string): string {
  return `${family}-${week}`;
}

function windowLabel(start: string, boundary: string): string {
  return `${start}..${boundary}`;
}

function minDate(dates: readonly string[], rows: ArrayLike<number>): string | null {
  let min: string | null = null;
  for (let i = 0; i < rows.length; i++) {
    const d = dates[rows[i]!]!;
    if (min === null || d < min) min = d;
  }
  return min;
}

function championOnWindow(
  champion: Champion,
  data: Dataset,
  target: Float64Array,
  threshold: number,
): ClassificationReport {
  const input = champion.clip ? clipDataset(data, champion.clip) : data;
  return classificationReport(target, champion.model.predictBatch(input), threshold);
}

/**
 * The drift reference of a winner (consumers/drift/reference.ts): per-station and pooled baselines from the
 * raw training values (the drift stage sees the served values, before clipping), the model's
 * probabilities on the training rows, its performance and calibration on the validation window, and the
 * permutation importance on that window, which decides what the drift stage watches.
 */
function referenceFor(
  artifact: ModelArtifact,
  rawTrain: Dataset,
  clippedTrain: Dataset,
  clippedValidation: Dataset,
  validationPredictions: Float64Array,
  validationTarget: Float64Array,
  threshold: number,
  history: LabeledHistory,
  rows: { train: ArrayLike<number>; validation: ArrayLike<number> },
) {
  const model = loadModel(artifact, clippedTrain.featureNames);
  const datesOf = (r: ArrayLike<number>) => Array.from(r, (i) => history.dates[i]!);
  return driftReferenceFor({
    train: {
      data: rawTrain,
      dates: datesOf(rows.train),
      locations: Array.from(rows.train, (i) => history.locations[i]!),
    },
    trainingProbabilities: model.predictBatch(clippedTrain),
    validation: {
      probabilities: validationPredictions,
      labels: validationTarget,
      dates: datesOf(rows.validation),
    },
    importance: permutationImportance((d) => model.predictBatch(d), clippedValidation, validationTarget),
    threshold,
  });
}

export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const clock = o.clock ?? Date.now;
  const window = trainingWindow(o.due.week, o.validationWeeks ?? 8);
  const split = splitRows(o.history.dates, window);
  const base = {
    records: [],
    decision: null,
    winnerVersion: null,
    trainRows: split.train.length,
    validationRows: split.validation.length,
  };
  const trainStart = minDate(o.history.dates, split.train);
  if (split.train.length < o.minRows) {
    return {
      ...base,
      status: 'skipped',
      reason: `${split.train.length} training rows < ${o.minRows}`,
      trainStart,
    };
  }
  const train = o.history.slice(split.train);
  const validation = o.history.slice(split.validation);
  let positives = 0;
  for (const y of validation.target) positives += y;
  if (positives === 0 || positives === validation.target.length) {
    return { ...base, status: 'skipped', reason: 'validation window has one class only', trainStart };
  }
  const clip: ClipBounds = fitClipping(train.data);
  const trainData = clipDataset(train.data, clip);
  const validationData = clipDataset(validation.data, clip);
  const label = windowLabel(window.validationStart, window.boundary);

  const outcomes = new Map<
    string,
    {
      spec: CandidateSpec;
      artifact: ModelArtifact;
      predictions: Float64Array;
      trainSeconds: number;
      maxRssMb: number;
    }
  >();
  const candidates: Candidate[] = [];
  for (const spec of o.candidates ?? WEEKLY_CANDIDATES) {
    if (split.train.length < spec.minRows) continue;
    try {
      const outcome = await o.pool.train({
        family: spec.family,
        task: 'classification',
        params: spec.params,
        seed: o.seed ?? 42,
        train: { data: trainData, target: train.target },
        validation: { data: validationData, target: validation.target },
      });
      const predictions = outcome.validationPredictions!;
      outcomes.set(spec.family, {
        spec,
        artifact: outcome.artifact,
        predictions,
        trainSeconds: outcome.trainSeconds,
        maxRssMb: outcome.maxRssMb,
      });
      candidates.push({
        name: spec.family,
        family: spec.family,
        task: 'classification',
        metrics: classificationReport(validation.target, predictions, o.threshold),
        trainSeconds: outcome.trainSeconds,
        window: label,
      });
    } catch (error) {
      candidates.push({
        name: spec.family,
        family: spec.family,
        task: 'classification',
        trainSeconds: 0,
        window: label,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const championCandidate: Candidate = {
    name: `champion@${o.champion.version}`,
    family: o.champion.family,
    task: 'classification',
    metrics: championOnWindow(o.champion, validation.data, validation.target, o.threshold),
    trainSeconds: 0,
    window: label,
  };
  const decision = selectModel(candidates, championCandidate);
  const winner = decision.winner?.family ?? null;
  const trainedAt = clock();
  let trainPositives = 0;
  for (const y of train.target) trainPositives += y;
  const records: ModelRecord[] = [];
  for (const c of candidates) {
    const out = outcomes.get(c.family);
    if (!out) continue;
    const isWinner = c.family === winner;
    records.push({
      version: versionOf(c.family, o.due.week),
      family: c.family,
      task: 'classification',
      params: out.artifact.params,
      metrics: { ...(c.metrics as unknown as Record<string, unknown>), window: label },
      featureSetVersion: FEATURE_SET_VERSION,
      trainStart: trainStart ?? window.validationStart,
      trainEnd: o.due.dataUntil,
      rows: split.train.length,
      positives: trainPositives,
      codeVersion: o.codeVersion,
      bundle: { model: out.artifact, clip },
      // The reference bins raw values: the drift stage sees the labeled examples before clipping.
      reference: isWinner
        ? referenceFor(
            out.artifact,
            train.data,
            trainData,
            validationData,
            out.predictions,
            validation.target,
            o.threshold,
            o.history,
            split,
          )
        : null,
      status: isWinner && decision.promote ? 'candidate' : 'rejected',
      trainedAt,
      trainSeconds: out.trainSeconds,
      peakRssMb: out.maxRssMb,
    });
  }
  return {
    status: 'trained',
    reason: decision.reasons.join('; '),
    records,
    decision,
    winnerVersion: winner === null ? null : versionOf(winner, o.due.week),
    trainRows: split.train.length,
    validationRows: split.validation.length,
    trainStart,
  };
}
