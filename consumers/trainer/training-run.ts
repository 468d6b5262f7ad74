/**
 * One retraining: split the labeled history chronologically, train every candidate family in the worker
 * pool (off the event loop), score candidates and the current champion on the same validation window,
 * select and gate. Returns the registry records and the decision; the trainer shell writes them. No Kafka
 * here, so it is tested with the real pool and no services.
 *
 * Incremental training. A full run learns the clipping bounds and fits every family on the whole training
 * window. Between full runs, each family continues its latest model (ModelFamily.fitWarm) on the rows that
 * model has not learned from, with that model's clipping, bins and standardization, so the weekly cost
 * follows the week's rows rather than the history. A full run is due every `refitEveryWeeks` weeks, when
 * the caller asks (`refit`, from an operator or drift), and whenever this process has no model to continue
 * (first run, restart). On a full run the warm-started champion competes beside the refits, so a refit
 * replaces it only by scoring better on the same validation weeks.
 *
 * What each model has learned is remembered per history (WeakMap below): its version, binary artifact,
 * clipping and a marker (history size and validation start at its run): the rows with an index below the
 * size and a date before the validation start. A row replaced in place later (the same location and day
 * delivered again with other values) is not seen by warm starts; the next full refit learns it. A finite
 * training window (`windowWeeks`) is enforced at full refits; warm starts in between only add weeks.
 */
import type { Champion } from '../../lib/models/champion.ts';
import type { TrainJob, TrainOutcome } from '../../lib/ml/train-worker.ts';
import { addDays, daysBetween } from '../../lib/domain/time.ts';
import { clipDataset, fitClipping, type ClipBounds } from '../../lib/domain/features/clipping.ts';
import { FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import { classificationReport, type ClassificationReport } from '../../lib/ml/metrics.ts';
import { loadModel } from '../../lib/ml/families.ts';
import type { Dataset } from '../../lib/ml/model.ts';
import { permutationImportance } from '../../lib/ml/reference.ts';
import { driftReferenceFor } from '../drift/reference.ts';
import {
  selectModel,
  type Candidate,
  type CandidateTraining,
  type SelectionDecision,
} from '../../lib/ml/selection.ts';
import type { TrainingPool } from '../../lib/ml/worker-pool.ts';
import type { ModelRecord } from '../../lib/models/registry.ts';
import type { LabeledHistory } from './labeled-history.ts';
import { splitRows, trainingWindow, type DueTraining } from './step.ts';

export interface CandidateSpec {
  family: string;
  params: Record<string, unknown>;
  /** Fewest training rows this family is worth training on. */
  minRows: number;
  /** Settings of the family's warm start (ModelFamily.fitWarm), e.g. gbdt `trees`, forest `replace`. */
  warm?: Record<string, number>;
  /**
   * Rows a warm start fits on: 'unseen' (default), the rows the base has not learned from (what the
   * counting and Bayesian updates need: a row counted twice would weigh twice); or the last N weeks of
   * training rows (trees grown afresh on recent data, the forest's refresh).
   */
  warmRows?: 'unseen' | { weeks: number };
}

/**
 * The families that compete every week. mlrf (ml-random-forest) is left out: on its bounded sample it
 * costs seconds and cannot win (see bench:train); it competes in the benchmark instead.
 */
export const WEEKLY_CANDIDATES: readonly CandidateSpec[] = [
  { family: 'climatology', params: {}, minRows: 1 },
  { family: 'logreg', params: {}, minRows: 200 },
  {
    // Warm rounds measured on the last 10 weeks of the file (bench:retrain, BENCH_GBDT_WARM): 10 rounds
    // on 4 weeks scored prequential ROC AUC 0.8952, 3 on 12 weeks 0.8953, none 0.8993 = a full refit every
    // week (0.8993). Rounds fit to a few recent weeks chase weather that does not last, so between the
    // refits the GBDT is carried as it is (the warm start still runs: raise `trees` to boost on).
    family: 'gbdt',
    params: { maxIterations: 200, learningRate: 0.12 },
    minRows: 500,
    warm: { trees: 0 },
    warmRows: { weeks: 4 },
  },
  {
    // Bootstrap samples of a quarter of the rows: about 4x faster trees for no measurable loss here.
    family: 'forest',
    params: { nTrees: 40, minSamplesLeaf: 20, sampleFraction: 0.25, threads: 1 },
    minRows: 500,
    warm: { replace: 5 },
    warmRows: { weeks: 26 },
  },
];

/** Default weeks between scheduled full refits. */
export const REFIT_EVERY_WEEKS = 13;
/** Default weeks of training rows behind the winner's drift reference. */
export const REFERENCE_WEEKS = 52;

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
  /** Set by the trainer from operator or drift commands: `full` forces a full refit of every family. */
  refit?: { full: boolean; reason: string };
  /** Weeks between scheduled full refits (default REFIT_EVERY_WEEKS). */
  refitEveryWeeks?: number;
  /** Training window: the last N weeks before the validation weeks; absent or null: all history. */
  windowWeeks?: number | null;
  /** Warm starts between full refits (default true); false refits every family every run. */
  warmStarts?: boolean;
  /**
   * Weeks of training rows the promoted winner's drift reference is computed on (default
   * REFERENCE_WEEKS, a full seasonal cycle): its per-station baselines then describe the recent climate,
   * and the reference costs the same each week instead of growing with the history.
   */
  referenceWeeks?: number;
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
  /** 'full' when the run refit every family (schedule, request or no model to continue), else 'warm'. */
  mode?: 'full' | 'warm';
  /** Why the run was full (or '' for a warm run). */
  modeReason?: string;
  /** Per candidate: how it was trained (also in the decision table and the model records' metrics). */
  training?: Record<string, CandidateTraining>;
}

export function versionOf(family: string, week: string): string {
  return `${family}-${week}`;
}

/** What the engine remembers of a trained model to continue it later. */
interface LearnedModel {
  readonly version: string;
  readonly family: string;
  readonly encoded: Uint8Array;
  readonly clip: ClipBounds;
  /** Rows learned: index < seenSize and date < seenBefore (within the window of its full ancestor). */
  readonly seenSize: number;
  readonly seenBefore: string;
  /** Permutation importance computed for this model or its warm ancestors (drift reference). */
  importance: Float64Array | null;
}

interface EngineState {
  /** Label of each history row, read once when the row is first seen (history.slice of the new rows). */
  labels: Uint8Array;
  labelled: number;
  /** Week of the last full refit, and its clipping (shared by the models that continue it). */
  lastFullWeek: string | null;
  /** The latest model of each family: next week's warm base. */
  readonly latest: Map<string, LearnedModel>;
  /** Recent models by version (the champion is among them unless this process did not train it). */
  readonly byVersion: Map<string, LearnedModel>;
}

const BY_VERSION_KEEP = 16;
const engines = new WeakMap<LabeledHistory, EngineState>();

function engineOf(history: LabeledHistory): EngineState {
  let state = engines.get(history);
  if (!state) {
    state = {
      labels: new Uint8Array(4096),
      labelled: 0,
      lastFullWeek: null,
      latest: new Map(),
      byVersion: new Map(),
    };
    engines.set(history, state);
  }
  return state;
}

/** Labels of rows [state.labelled, size), read from the history once. */
function extendLabels(state: EngineState, history: LabeledHistory, size: number): void {
  if (size <= state.labelled) return;
  if (size > state.labels.length) {
    const grown = new Uint8Array(Math.max(size, state.labels.length * 2));
    grown.set(state.labels);
    state.labels = grown;
  }
  const rows = new Int32Array(size - state.labelled);
  for (let i = 0; i < rows.length; i++) rows[i] = state.labelled + i;
  // Only the target is needed; the history slices features and labels together.
  const { target } = history.slice(rows);
  for (let i = 0; i < rows.length; i++) state.labels[rows[i]!] = target[i]!;
  state.labelled = size;
}

function rememberModel(state: EngineState, m: LearnedModel): void {
  state.byVersion.delete(m.version);
  state.byVersion.set(m.version, m);
  while (state.byVersion.size > BY_VERSION_KEEP) state.byVersion.delete(state.byVersion.keys().next().value!);
}

/** A per-week seed, so a warm forest's new trees differ from last week's. */
function weekSeed(seed: number, week: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < week.length; i++) h = (Math.imul(h, 31) + week.charCodeAt(i)) >>> 0;
  return h;
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

interface PlannedCandidate {
  readonly name: string;
  readonly version: string;
  readonly spec: CandidateSpec;
  readonly clip: ClipBounds;
  readonly job: TrainJob;
  readonly base: LearnedModel | null;
}

interface TrainedCandidate extends PlannedCandidate {
  readonly outcome: TrainOutcome;
}

/** Rows of `train` (indices, in order) whose date is on or after `from`. */
function rowsFrom(rows: Int32Array, dates: readonly string[], from: string): Int32Array {
  // Rows are in arrival order, close to date order but not exactly: filter, do not bisect.
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) if (dates[rows[i]!]! >= from) out.push(rows[i]!);
  return Int32Array.from(out);
}

/** Rows of `train` the model has not learned from. */
function unseenRows(rows: Int32Array, dates: readonly string[], base: LearnedModel): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r < base.seenSize && dates[r]! < base.seenBefore)) out.push(r);
  }
  return Int32Array.from(out);
}

export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const clock = o.clock ?? Date.now;
  const window = trainingWindow(o.due.week, o.validationWeeks ?? 8);
  const seenSize = o.history.dates.length;
  const split = splitRows(o.history.dates, window);
  const windowStart =
    o.windowWeeks === undefined || o.windowWeeks === null
      ? null
      : addDays(window.validationStart, -7 * o.windowWeeks);
  const trainRows = windowStart === null ? split.train : rowsFrom(split.train, o.history.dates, windowStart);
  const state = engineOf(o.history);
  const refitEvery = o.refitEveryWeeks ?? REFIT_EVERY_WEEKS;
  // A family that becomes eligible (enough rows) or whose last fit failed has nothing to continue.
  const newFamily = (o.candidates ?? WEEKLY_CANDIDATES).find(
    (spec) => trainRows.length >= spec.minRows && !state.latest.has(spec.family),
  );
  let modeReason = '';
  if (o.warmStarts === false) modeReason = 'warm starts off';
  else if (o.refit?.full) modeReason = `refit asked: ${o.refit.reason}`;
  else if (state.lastFullWeek === null) modeReason = 'no model to continue in this process';
  else if (newFamily !== undefined) modeReason = `no ${newFamily.family} model to continue`;
  else if (daysBetween(state.lastFullWeek, o.due.week) >= 7 * refitEvery)
    modeReason = `scheduled: ${refitEvery} weeks since the refit of ${state.lastFullWeek}`;
  const mode: 'full' | 'warm' = modeReason === '' ? 'warm' : 'full';
  const base = {
    records: [],
    decision: null,
    winnerVersion: null,
    trainRows: trainRows.length,
    validationRows: split.validation.length,
    mode,
    modeReason,
    training: {},
  };
  const trainStart = minDate(o.history.dates, trainRows);
  if (trainRows.length < o.minRows) {
    return {
      ...base,
      status: 'skipped',
      reason: `${trainRows.length} training rows < ${o.minRows}`,
      trainStart,
    };
  }
  const validation = o.history.slice(split.validation);
  let positives = 0;
  for (const y of validation.target) positives += y;
  if (positives === 0 || positives === validation.target.length) {
    return { ...base, status: 'skipped', reason: 'validation window has one class only', trainStart };
  }
  const label = windowLabel(window.validationStart, window.boundary);
  const seed = o.seed ?? 42;
  const specs = (o.candidates ?? WEEKLY_CANDIDATES).filter((spec) => trainRows.length >= spec.minRows);

  // Validation rows clipped once per clipping in use (a full run's new one, the warm bases' own).
  const clippedValidation = new Map<ClipBounds, Dataset>();
  const validationFor = (clip: ClipBounds): Dataset => {
    let v = clippedValidation.get(clip);
    if (!v) clippedValidation.set(clip, (v = clipDataset(validation.data, clip)));
    return v;
  };
  const slices = new Map<string, { data: Dataset; target: Float64Array; rows: Int32Array }>();
  const sliceFor = (key: string, rows: Int32Array, clip: ClipBounds) => {
    const k = `${key}|${rows.length}`;
    let sl = slices.get(k);
    if (!sl) {
      const raw = o.history.slice(rows);
      sl = { data: clipDataset(raw.data, clip), target: raw.target, rows };
      slices.set(k, sl);
    }
    return sl;
  };

  const warmJob = (spec: CandidateSpec, from: LearnedModel): PlannedCandidate['job'] | null => {
    const rows =
      spec.warmRows === undefined || spec.warmRows === 'unseen'
        ? unseenRows(trainRows, o.history.dates, from)
        : rowsFrom(trainRows, o.history.dates, addDays(window.validationStart, -7 * spec.warmRows.weeks));
    if (rows.length < 2) return null;
    const key =
      spec.warmRows === undefined || spec.warmRows === 'unseen'
        ? `unseen:${from.version}`
        : `recent:${JSON.stringify(spec.warmRows)}`;
    const sl = sliceFor(`${key}|${from.seenSize}`, rows, from.clip);
    return {
      family: spec.family,
      task: 'classification',
      params: spec.params,
      seed: weekSeed(seed, o.due.week),
      train: { data: sl.data, target: sl.target },
      validation: { data: validationFor(from.clip), target: validation.target },
      warm: { base: from.encoded, baseKey: from.version, ...(spec.warm ? { settings: spec.warm } : {}) },
      encode: true,
    };
  };

  const planned: PlannedCandidate[] = [];
  let fullClip: ClipBounds | null = null;
  if (mode === 'full') {
    const train = o.history.slice(trainRows);
    const clip = fitClipping(train.data);
    fullClip = clip;
    const trainData = clipDataset(train.data, clip);
    for (const spec of specs) {
      const version = versionOf(spec.family, o.due.week);
      planned.push({
        name: spec.family,
        version,
        spec,
        clip,
        base: null,
        job: {
          family: spec.family,
          task: 'classification',
          params: spec.params,
          seed,
          train: { data: trainData, target: train.target },
          validation: { data: validationFor(clip), target: validation.target },
          encode: true,
          cacheKey: version,
        },
      });
    }
  }
  // The champion warm-started, when this process knows what it has learned; on a warm run that is each
  // family's own continuation (the family's latest model is the champion once promoted).
  const championState = state.byVersion.get(o.champion.version) ?? null;
  for (const spec of specs) {
    const family = spec.family;
    const fromChampion = championState?.family === family ? championState : null;
    if (mode === 'full') {
      if (!fromChampion || o.warmStarts === false) continue;
      const job = warmJob(spec, fromChampion);
      if (!job) continue;
      const version = `${family}-warm-${o.due.week}`;
      planned.push({
        name: `${family}-warm`,
        version,
        spec,
        clip: fromChampion.clip,
        base: fromChampion,
        job: { ...job, cacheKey: version },
      });
      continue;
    }
    const from = state.latest.get(family) ?? null;
    if (!from) continue;
    const version = versionOf(family, o.due.week);
    const job = warmJob(spec, from);
    if (job)
      planned.push({
        name: family,
        version,
        spec,
        clip: from.clip,
        base: from,
        job: { ...job, cacheKey: version },
      });
    if (fromChampion && fromChampion.version !== from.version) {
      const championJob = warmJob(spec, fromChampion);
      const v2 = `${family}-warm-${o.due.week}`;
      if (championJob) {
        planned.push({
          name: `${family}-warm`,
          version: v2,
          spec,
          clip: fromChampion.clip,
          base: fromChampion,
          job: { ...championJob, cacheKey: v2 },
        });
      }
    }
  }

  const trained: TrainedCandidate[] = [];
  const candidates: Candidate[] = [];
  const training: Record<string, CandidateTraining> = {};
  for (const plan of planned) {
    try {
      const outcome = await o.pool.train(plan.job);
      const predictions = outcome.validationPredictions!;
      trained.push({ ...plan, outcome });
      const info: CandidateTraining = {
        mode: outcome.mode,
        rows: outcome.fitRows,
        seconds: outcome.trainSeconds,
        artifactBytes: outcome.encoded?.length ?? 0,
        ...(plan.base ? { base: plan.base.version } : {}),
      };
      training[plan.name] = info;
      candidates.push({
        name: plan.name,
        family: plan.spec.family,
        task: 'classification',
        metrics: classificationReport(validation.target, predictions, o.threshold),
        trainSeconds: outcome.trainSeconds,
        window: label,
        training: info,
      });
    } catch (error) {
      candidates.push({
        name: plan.name,
        family: plan.spec.family,
        task: 'classification',
        trainSeconds: 0,
        window: label,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (candidates.length === 0) {
    return { ...base, status: 'skipped', reason: 'no candidate family has enough rows', trainStart };
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
  const winnerName = decision.winner?.name ?? null;
  const trainedAt = clock();
  let trainPositives = 0;
  extendLabels(state, o.history, seenSize);
  for (let i = 0; i < trainRows.length; i++) trainPositives += state.labels[trainRows[i]!]!;
  const records: ModelRecord[] = [];
  let winnerVersion: string | null = null;
  for (const t of trained) {
    const isWinner = t.name === winnerName;
    if (isWinner) winnerVersion = t.version;
    const info = training[t.name]!;
    const learned: LearnedModel = {
      version: t.version,
      family: t.spec.family,
      encoded: t.outcome.encoded!,
      clip: t.clip,
      seenSize,
      seenBefore: window.validationStart,
      importance: t.base?.importance ?? null,
    };
    let reference: unknown = null;
    // The drift stage reads the reference of the model that served; a winner held back by the gates
    // serves nothing, so only a promoted winner pays for one (a challenger promoted by hand later gets
    // performance monitoring only, as any model without a reference).
    if (isWinner && decision.promote) {
      const model = loadModel(t.outcome.artifact, validation.data.featureNames);
      const referenceRows = rowsFrom(
        trainRows,
        o.history.dates,
        addDays(window.validationStart, -7 * (o.referenceWeeks ?? REFERENCE_WEEKS)),
      );
      const raw = o.history.slice(referenceRows);
      const clipped = clipDataset(raw.data, t.clip);
      const validationData = validationFor(t.clip);
      // A warm start changes a small part of the model: it keeps its base's importance ranking.
      learned.importance ??= permutationImportance(
        (d) => model.predictBatch(d),
        validationData,
        validation.target,
      );
      reference = driftReferenceFor({
        train: {
          data: raw.data,
          dates: Array.from(referenceRows, (i) => o.history.dates[i]!),
          locations: Array.from(referenceRows, (i) => o.history.locations[i]!),
        },
        trainingProbabilities: model.predictBatch(clipped),
        validation: {
          probabilities: t.outcome.validationPredictions!,
          labels: validation.target,
          dates: Array.from(split.validation, (i) => o.history.dates[i]!),
        },
        importance: learned.importance,
        threshold: o.threshold,
      });
    }
    rememberModel(state, learned);
    if (t.name === t.spec.family || isWinner) {
      // The family's continuation next week: its winner if it won, else its regular candidate.
      if (isWinner || state.latest.get(t.spec.family)?.version !== winnerVersion)
        state.latest.set(t.spec.family, learned);
    }
    records.push({
      version: t.version,
      family: t.spec.family,
      task: 'classification',
      params: t.outcome.artifact.params,
      metrics: {
        ...(candidates.find((c) => c.name === t.name)!.metrics as unknown as Record<string, unknown>),
        window: label,
        training: info,
      },
      featureSetVersion: FEATURE_SET_VERSION,
      trainStart: trainStart ?? window.validationStart,
      trainEnd: o.due.dataUntil,
      rows: trainRows.length,
      positives: trainPositives,
      codeVersion: o.codeVersion,
      bundle: { model: t.outcome.artifact, clip: t.clip },
      reference,
      status: isWinner && decision.promote ? 'candidate' : 'rejected',
      trainedAt,
      trainSeconds: t.outcome.trainSeconds,
      peakRssMb: t.outcome.maxRssMb,
    });
  }
  if (mode === 'full' && fullClip !== null) state.lastFullWeek = o.due.week;
  return {
    status: 'trained',
    reason: [`${mode} run${modeReason ? ` (${modeReason})` : ''}`, ...decision.reasons].join('; '),
    records,
    decision,
    winnerVersion,
    trainRows: trainRows.length,
    validationRows: split.validation.length,
    trainStart,
    mode,
    modeReason,
    training,
  };
}
