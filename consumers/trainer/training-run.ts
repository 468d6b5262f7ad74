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
import { classificationReport, regressionReport, type MetricsReport } from '../../lib/ml/metrics.ts';
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
import { TASKS, type CandidateSpec, type TaskDeclaration } from '../../lib/models/tasks.ts';
import type { LabeledHistory } from './labeled-history.ts';
import { splitRows, trainingWindow, type DueTraining } from './step.ts';

export type { CandidateSpec } from '../../lib/models/tasks.ts';

/** Rain's weekly families (lib/models/tasks.ts declares each task's). */
export const WEEKLY_CANDIDATES: readonly CandidateSpec[] = TASKS.rain.families;

/** Default weeks between scheduled full refits. */
export const REFIT_EVERY_WEEKS = 13;
/** Default weeks a warm winner keeps its base's drift reference (TrainingRunOptions.referenceRefreshWeeks). */
export const REFERENCE_REFRESH_WEEKS = 4;
/** Default weeks of training rows behind the winner's drift reference. */
export const REFERENCE_WEEKS = 52;

export interface TrainingRunOptions {
  /** The task trained (default rain): its type, metrics, gates, families and version names. */
  task?: TaskDeclaration;
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
  /**
   * Where scheduled full refits train beside the stream. Without it a scheduled refit trains in the
   * run (seconds on the full history, which the weekly cadence waits for); with it the run is warm, the
   * refit starts on this pool, and the first run after it finished scores it as one more candidate on that
   * run's validation weeks (it learned only rows before its own, earlier, validation start). Refits asked
   * for (operator, drift) and first fits still train in the run.
   */
  refitPool?: TrainingPool;
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
  /**
   * Weeks a promoted warm start keeps the drift reference of the model it continues (default
   * REFERENCE_REFRESH_WEEKS). The reference describes a year of training rows per station; computing it
   * was more than half of a warm run (0.5 of 0.9 s on the full history), and one to three more weeks in
   * a 52-week window move its baselines by little. A refit's or a new family's winner always gets its own.
   */
  referenceRefreshWeeks?: number;
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

/** A model version: `<family>-<week>` for rain (as before tasks), `<task>-<family>-<week>` for another task. */
export function versionOf(family: string, week: string, task = 'rain'): string {
  return task === 'rain' ? `${family}-${week}` : `${task}-${family}-${week}`;
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
  /** The drift reference this model or a warm ancestor was promoted with, and the week it was computed. */
  reference: { readonly value: unknown; readonly week: string } | null;
}

interface EngineState {
  /** Label of each history row, read once when the row is first seen (history.slice of the new rows). */
  labels: Uint8Array;
  labelled: number;
  /** Week of the last full refit, and its clipping (shared by the models that continue it). */
  lastFullWeek: string | null;
  lastFullClip: ClipBounds | null;
  /** The latest model of each family: next week's warm base. */
  readonly latest: Map<string, LearnedModel>;
  /** Recent models by version (the champion is among them unless this process did not train it). */
  readonly byVersion: Map<string, LearnedModel>;
  /** The scheduled refit training beside the stream (refitPool), until a run takes its models. */
  refit: BackgroundRefit | null;
}

/** A scheduled full refit started by one run and scored by the first run after it finished. */
interface BackgroundRefit {
  readonly week: string;
  readonly dataUntil: string;
  readonly trainRows: number;
  readonly trainStart: string | null;
  readonly positives: number;
  readonly clip: ClipBounds;
  readonly seenSize: number;
  readonly seenBefore: string;
  /** Set once every job settled: the trained candidates and the ones that failed. */
  settled: { trained: TrainedCandidate[]; failed: { name: string; family: string; error: string }[] } | null;
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
      lastFullClip: null,
      latest: new Map(),
      byVersion: new Map(),
      refit: null,
    };
    engines.set(history, state);
  }
  return state;
}

/** The scheduled refit training beside the stream for this history, if any (for logs and tests). */
export function backgroundRefit(history: LabeledHistory): { week: string; finished: boolean } | null {
  const refit = engines.get(history)?.refit ?? null;
  return refit && { week: refit.week, finished: refit.settled !== null };
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

/** The figures of one task's predictions on the validation window. */
function reportOf(
  task: TaskDeclaration,
  target: Float64Array,
  predictions: Float64Array,
  threshold: number,
): MetricsReport {
  return task.type === 'classification'
    ? classificationReport(target, predictions, threshold)
    : regressionReport(target, predictions);
}

function championOnWindow(
  task: TaskDeclaration,
  champion: Champion,
  data: Dataset,
  target: Float64Array,
  threshold: number,
): MetricsReport {
  const input = champion.clip ? clipDataset(data, champion.clip) : data;
  return reportOf(task, target, champion.model.predictBatch(input), threshold);
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
  /** A background refit's candidate: what it learned, which differs from this run's. */
  readonly refit?: BackgroundRefit;
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
  const task = o.task ?? TASKS.rain;
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
  const newFamily = (o.candidates ?? task.families).find(
    (spec) => trainRows.length >= spec.minRows && !state.latest.has(spec.family),
  );
  let modeReason = '';
  if (o.warmStarts === false) modeReason = 'warm starts off';
  else if (o.refit?.full) modeReason = `refit asked: ${o.refit.reason}`;
  else if (state.lastFullWeek === null) modeReason = 'no model to continue in this process';
  else if (newFamily !== undefined) modeReason = `no ${newFamily.family} model to continue`;
  else if (daysBetween(state.lastFullWeek, o.due.week) >= 7 * refitEvery)
    modeReason = `scheduled: ${refitEvery} weeks since the refit of ${state.lastFullWeek}`;
  // A scheduled refit goes beside the stream when there is a pool for it and none is under way.
  const refitBeside = modeReason.startsWith('scheduled') && o.refitPool !== undefined;
  if (refitBeside) modeReason = '';
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
  if (task.type === 'classification') {
    let positives = 0;
    for (const y of validation.target) positives += y;
    if (positives === 0 || positives === validation.target.length) {
      return { ...base, status: 'skipped', reason: 'validation window has one class only', trainStart };
    }
  } else {
    const y = validation.target;
    let same = y.length > 0;
    for (let i = 1; i < y.length && same; i++) same = y[i] === y[0];
    // R² needs a window whose targets vary.
    if (y.length < 2 || same) {
      return { ...base, status: 'skipped', reason: 'validation window has no spread of targets', trainStart };
    }
  }
  const label = windowLabel(window.validationStart, window.boundary);
  const seed = o.seed ?? 42;
  const specs = (o.candidates ?? task.families).filter((spec) => trainRows.length >= spec.minRows);

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
      task: task.type,
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
  /** The whole training window, sliced from the history once (clipping is learned on it, fits train on it). */
  let wholeWindow: ReturnType<LabeledHistory['slice']> | null = null;
  const trainSlice = () => (wholeWindow ??= o.history.slice(trainRows));
  /** The whole training window, clipped once: what a full fit trains on. */
  let fullTrain: { data: Dataset; target: Float64Array; clip: ClipBounds } | null = null;
  const fullJob = (
    spec: CandidateSpec,
    clip: ClipBounds,
    version: string,
    name = spec.family,
  ): PlannedCandidate => {
    if (fullTrain === null || fullTrain.clip !== clip) {
      const train = trainSlice();
      fullTrain = { data: clipDataset(train.data, clip), target: train.target, clip };
    }
    return {
      name,
      version,
      spec,
      clip,
      base: null,
      job: {
        family: spec.family,
        task: task.type,
        params: spec.params,
        seed,
        train: { data: fullTrain.data, target: fullTrain.target },
        validation: { data: validationFor(clip), target: validation.target },
        encode: true,
        cacheKey: version,
      },
    };
  };
  if (mode === 'full') {
    const clip = fitClipping(trainSlice().data);
    fullClip = clip;
    for (const spec of specs)
      planned.push(fullJob(spec, clip, versionOf(spec.family, o.due.week, task.name)));
  }
  // A background refit that finished competes now, scored on this run's validation weeks.
  const adopted: TrainedCandidate[] = [];
  const refitFailures: { name: string; family: string; error: string }[] = [];
  const finished = state.refit?.settled ? state.refit : null;
  if (finished) {
    state.refit = null;
    for (const t of finished.settled!.trained) {
      const model = loadModel(t.outcome.artifact, validation.data.featureNames);
      const predictions = model.predictBatch(validationFor(t.clip));
      adopted.push({ ...t, outcome: { ...t.outcome, validationPredictions: predictions } });
    }
    refitFailures.push(...finished.settled!.failed);
  }
  let refitStarted = false;
  // Families refit every run (spec.refitEveryRun) have nothing to gain from one more refit beside.
  const refitSpecs = specs.filter((spec) => spec.refitEveryRun !== true);
  if (refitBeside && state.refit === null && o.refitPool && refitSpecs.length > 0) {
    const clip = fitClipping(trainSlice().data);
    const plans = refitSpecs.map((spec) =>
      fullJob(spec, clip, versionOf(`${spec.family}-refit`, o.due.week, task.name), `${spec.family}-refit`),
    );
    let positives = 0;
    if (task.type === 'classification') for (const y of fullTrain!.target) positives += y;
    const refit: BackgroundRefit = {
      week: o.due.week,
      dataUntil: o.due.dataUntil,
      trainRows: trainRows.length,
      trainStart,
      positives,
      clip,
      seenSize,
      seenBefore: window.validationStart,
      settled: null,
    };
    const pool = o.refitPool;
    // One job after another on the refit pool: its worker is the only one it may keep busy.
    void (async () => {
      const settled: NonNullable<BackgroundRefit['settled']> = { trained: [], failed: [] };
      for (const plan of plans) {
        try {
          settled.trained.push({ ...plan, outcome: await pool.train(plan.job), refit });
        } catch (error) {
          settled.failed.push({
            name: plan.name,
            family: plan.spec.family,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      refit.settled = settled;
    })();
    state.refit = refit;
    // The schedule counts from the refit's start: the next one is due refitEvery weeks later.
    state.lastFullWeek = o.due.week;
    refitStarted = true;
  }
  // The champion warm-started, when this process knows what it has learned; on a warm run that is each
  // family's own continuation (the family's latest model is the champion once promoted).
  const championState = state.byVersion.get(o.champion.version) ?? null;
  for (const spec of specs) {
    const family = spec.family;
    const fromChampion = championState?.family === family ? championState : null;
    if (spec.refitEveryRun === true) {
      // No warm start: refit on the whole window every run, with the last full run's clipping (a full run
      // planned it above already).
      if (mode === 'warm' && state.lastFullClip !== null)
        planned.push(fullJob(spec, state.lastFullClip, versionOf(family, o.due.week, task.name)));
      continue;
    }
    if (mode === 'full') {
      if (!fromChampion || o.warmStarts === false) continue;
      const job = warmJob(spec, fromChampion);
      if (!job) continue;
      const version = versionOf(`${family}-warm`, o.due.week, task.name);
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
    const version = versionOf(family, o.due.week, task.name);
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
      const v2 = versionOf(`${family}-warm`, o.due.week, task.name);
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
        task: task.type,
        metrics: reportOf(task, validation.target, predictions, o.threshold),
        trainSeconds: outcome.trainSeconds,
        window: label,
        training: info,
      });
    } catch (error) {
      candidates.push({
        name: plan.name,
        family: plan.spec.family,
        task: task.type,
        trainSeconds: 0,
        window: label,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  for (const t of adopted) {
    trained.push(t);
    const info: CandidateTraining = {
      mode: 'full',
      rows: t.outcome.fitRows,
      seconds: t.outcome.trainSeconds,
      artifactBytes: t.outcome.encoded?.length ?? 0,
    };
    training[t.name] = info;
    candidates.push({
      name: t.name,
      family: t.spec.family,
      task: task.type,
      metrics: reportOf(task, validation.target, t.outcome.validationPredictions!, o.threshold),
      trainSeconds: t.outcome.trainSeconds,
      window: label,
      training: info,
    });
  }
  for (const f of refitFailures) candidates.push({ ...f, task: task.type, trainSeconds: 0, window: label });
  if (candidates.length === 0) {
    return { ...base, status: 'skipped', reason: 'no candidate family has enough rows', trainStart };
  }
  const championCandidate: Candidate = {
    name: `champion@${o.champion.version}`,
    family: o.champion.family,
    task: task.type,
    metrics: championOnWindow(task, o.champion, validation.data, validation.target, o.threshold),
    trainSeconds: 0,
    window: label,
  };
  const decision = selectModel(candidates, championCandidate, task.policy);
  const winnerName = decision.winner?.name ?? null;
  const trainedAt = clock();
  let trainPositives = 0;
  if (task.type === 'classification') {
    extendLabels(state, o.history, seenSize);
    for (let i = 0; i < trainRows.length; i++) trainPositives += state.labels[trainRows[i]!]!;
  }
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
      seenSize: t.refit?.seenSize ?? seenSize,
      seenBefore: t.refit?.seenBefore ?? window.validationStart,
      importance: t.base?.importance ?? null,
      reference: t.base?.reference ?? null,
    };
    let reference: unknown = null;
    // The drift stage reads the reference of the model that served; a winner held back by the gates
    // serves nothing, so only a promoted winner pays for one (a challenger promoted by hand later gets
    // performance monitoring only, as any model without a reference).
    const kept = learned.reference;
    const refreshWeeks = o.referenceRefreshWeeks ?? REFERENCE_REFRESH_WEEKS;
    // Every task's promoted winner gets one: drift watches each task's champion against its own reference.
    const needsReference = isWinner && decision.promote;
    if (needsReference && kept && daysBetween(kept.week, o.due.week) < 7 * refreshWeeks) {
      reference = kept.value;
    } else if (needsReference) {
      const model = loadModel(t.outcome.artifact, validation.data.featureNames);
      const referenceRows = rowsFrom(
        trainRows,
        o.history.dates,
        addDays(window.validationStart, -7 * (o.referenceWeeks ?? REFERENCE_WEEKS)),
      );
      const raw = o.history.slice(referenceRows);
      const validationData = validationFor(t.clip);
      // A warm start changes a small part of the model: it keeps its base's importance ranking.
      learned.importance ??= permutationImportance(
        (d) => model.predictBatch(d),
        validationData,
        validation.target,
        42,
        task.type === 'regression' ? 'squaredError' : 'logLoss',
      );
      const train = {
        data: raw.data,
        dates: Array.from(referenceRows, (i) => o.history.dates[i]!),
        locations: Array.from(referenceRows, (i) => o.history.locations[i]!),
      };
      const validationDates = Array.from(split.validation, (i) => o.history.dates[i]!);
      // A regression model's reference holds its validation errors instead of probabilities (no CBPE).
      reference = driftReferenceFor(
        task.type === 'regression'
          ? {
              train,
              regression: {
                predictions: t.outcome.validationPredictions!,
                targets: validation.target,
                dates: validationDates,
              },
              importance: learned.importance,
            }
          : {
              train,
              trainingProbabilities: model.predictBatch(clipDataset(raw.data, t.clip)),
              validation: {
                probabilities: t.outcome.validationPredictions!,
                labels: validation.target,
                dates: validationDates,
              },
              importance: learned.importance,
              threshold: o.threshold,
            },
      );
      learned.reference = { value: reference, week: o.due.week };
    }
    rememberModel(state, learned);
    if (t.name === t.spec.family || t.refit !== undefined || isWinner) {
      // The family's continuation next week: its winner if it won, else its refit (which restarts the
      // chain of warm starts, as a refit in the run does), else its regular candidate.
      if (isWinner || state.latest.get(t.spec.family)?.version !== winnerVersion)
        state.latest.set(t.spec.family, learned);
    }
    records.push({
      version: t.version,
      family: t.spec.family,
      task: task.name,
      params: t.outcome.artifact.params,
      metrics: {
        ...(candidates.find((c) => c.name === t.name)!.metrics as unknown as Record<string, unknown>),
        window: label,
        training: info,
      },
      featureSetVersion: FEATURE_SET_VERSION,
      trainStart: t.refit
        ? (t.refit.trainStart ?? t.refit.seenBefore)
        : (trainStart ?? window.validationStart),
      trainEnd: t.refit?.dataUntil ?? o.due.dataUntil,
      rows: t.refit?.trainRows ?? trainRows.length,
      positives: t.refit?.positives ?? trainPositives,
      codeVersion: o.codeVersion,
      bundle: { model: t.outcome.artifact, clip: t.clip },
      reference,
      // Registered as promoted: the trainer promotes it in the same recording, and a status re-written
      // after the alias would read and re-insert the whole row (artifact included) once more.
      status: isWinner && decision.promote ? 'promoted' : 'rejected',
      trainedAt,
      trainSeconds: t.outcome.trainSeconds,
      peakRssMb: t.outcome.maxRssMb,
    });
  }
  if (mode === 'full' && fullClip !== null) {
    state.lastFullWeek = o.due.week;
    state.lastFullClip = fullClip;
  }
  return {
    status: 'trained',
    reason: [
      `${mode} run${modeReason ? ` (${modeReason})` : ''}`,
      ...(refitStarted ? [`full refit of ${o.due.week} started beside the stream`] : []),
      ...(finished ? [`scored the full refit of ${finished.week}`] : []),
      ...decision.reasons,
    ].join('; '),
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
