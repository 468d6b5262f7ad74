import { parentPort, workerData } from 'node:worker_threads';
import { decodeArtifactValue, encodeArtifactValue } from './artifact-codec.ts';
import { checkArtifactTag } from './artifact.ts';
import { FAMILIES, familyByName, type FamilyRegistry } from './families.ts';
import { lowerThreadPriority, type PriorityOutcome } from '../platform/thread-priority.ts';
import { ModelFormatError, type Dataset, type Model, type ModelArtifact, type Task } from './model.ts';

/**
 * The body of a training worker thread (started by worker-pool.ts): it receives one job at a time,
 * fits the family, scores the validation slice and answers with the artifact. `runTrainJob` is the
 * whole job as a function, so it also runs in-process (tests, a single-core fallback).
 */

export interface LabeledData {
  readonly data: Dataset;
  readonly target: Float64Array;
}

export interface TrainJob {
  readonly family: string;
  readonly task: Task;
  readonly params: Record<string, unknown>;
  readonly seed: number;
  readonly train: LabeledData;
  /** Rows scored after training (the selection window); their predictions come back. */
  readonly validation?: LabeledData;
  /**
   * Also hand the validation slice to the learner for early stopping. Off by default: a window used to
   * choose the number of trees scores that model optimistically against the other candidates.
   */
  readonly earlyStopOnValidation?: boolean;
  /**
   * Continue this model instead of fitting from scratch (ModelFamily.fitWarm): `train` then holds the
   * rows the base has not learned from. The base travels as its binary artifact (cheap to copy);
   * `baseKey` names it, so a worker that still holds it from an earlier job skips decoding it.
   */
  readonly warm?: {
    readonly base: Uint8Array;
    readonly baseKey?: string;
    readonly settings?: Readonly<Record<string, number>>;
  };
  /** Keep the trained model in this worker under this key (the next week's warm base). */
  readonly cacheKey?: string;
  /** Also return the artifact in the binary codec (artifact-codec.ts), as stored by the registry. */
  readonly encode?: boolean;
}

export interface TrainOutcome {
  readonly artifact: ModelArtifact;
  readonly trainSeconds: number;
  /** Predictions for `validation` rows in order; null without a validation slice. */
  readonly validationPredictions: Float64Array | null;
  readonly predictSeconds: number;
  /**
   * Peak resident set of the whole process in MB (worker threads share it), read after training:
   * the figure that tells whether a retraining fits beside the serving stages.
   */
  readonly maxRssMb: number;
  readonly mode: 'warm' | 'full';
  /** Rows the fit itself used (a warm start sees only its new rows). */
  readonly fitRows: number;
  /** The artifact in the binary codec, when the job asked for it. */
  readonly encoded: Uint8Array | null;
}

/** Models kept by key for later warm starts; a handful, oldest dropped first. */
const MODEL_CACHE_SIZE = 8;
const modelCache = new Map<string, Model>();

function remember(key: string, model: Model): void {
  modelCache.delete(key);
  modelCache.set(key, model);
  while (modelCache.size > MODEL_CACHE_SIZE) modelCache.delete(modelCache.keys().next().value!);
}

function warmBase(job: TrainJob, registry: FamilyRegistry): Model {
  const warm = job.warm!;
  const cached = warm.baseKey === undefined ? undefined : modelCache.get(warm.baseKey);
  if (cached) return cached;
  const artifact = checkArtifactTag(decodeArtifactValue(warm.base));
  if (artifact.family !== job.family) {
    throw new ModelFormatError(`warm start of ${job.family} from a ${artifact.family} artifact`);
  }
  const model = familyByName(artifact.family, registry).fromJSON(artifact);
  if (warm.baseKey !== undefined) remember(warm.baseKey, model);
  return model;
}

export function runTrainJob(job: TrainJob, registry: FamilyRegistry = FAMILIES): TrainOutcome {
  const family = familyByName(job.family, registry);
  const started = performance.now();
  let model: Model;
  if (job.warm) {
    if (!family.fitWarm) throw new ModelFormatError(`${job.family} has no warm start`);
    const base = warmBase(job, registry);
    model = family.fitWarm(base, job.train.data, job.train.target, {
      seed: job.seed,
      ...(job.warm.settings ? { warm: job.warm.settings } : {}),
    });
  } else {
    model = family.fit(job.train.data, job.train.target, job.task, job.params, {
      seed: job.seed,
      ...(job.earlyStopOnValidation && job.validation ? { validation: job.validation } : {}),
    });
  }
  const trainSeconds = (performance.now() - started) / 1000;
  if (job.cacheKey !== undefined) remember(job.cacheKey, model);
  const artifact = model.toJSON();
  const encoded = job.encode ? encodeArtifactValue(artifact) : null;
  let validationPredictions: Float64Array | null = null;
  let predictSeconds = 0;
  if (job.validation) {
    const t = performance.now();
    validationPredictions = model.predictBatch(job.validation.data);
    predictSeconds = (performance.now() - t) / 1000;
  }
  return {
    artifact,
    trainSeconds,
    validationPredictions,
    predictSeconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    mode: job.warm ? 'warm' : 'full',
    fitRows: job.train.data.nRows,
    encoded,
  };
}

/** Wire format between pool and worker. */
export type WorkerRequest = { readonly id: number; readonly job: TrainJob };
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly outcome: TrainOutcome }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string; readonly code?: string };
    };

/**
 * First message of a worker whose modules are loaded and whose listener is attached; `priority` says
 * whether it lowered its thread as asked (absent when it was not asked).
 */
export interface WorkerReady {
  readonly ready: true;
  readonly priority?: PriorityOutcome;
}

/** Marker the pool puts in workerData, so importing this module elsewhere never attaches a listener. */
export const TRAIN_WORKER_MARKER = 'rainstream.train-worker';

/** What the pool puts in a worker's workerData. */
export interface TrainWorkerData {
  readonly role: typeof TRAIN_WORKER_MARKER;
  /** Nice value the worker gives its thread before it says it is ready (TrainingPoolOptions.niceness). */
  readonly niceness?: number;
}

if (parentPort && (workerData as { role?: unknown } | null)?.role === TRAIN_WORKER_MARKER) {
  const port = parentPort;
  const { niceness } = workerData as TrainWorkerData;
  // Before any training: the GBDT's histogram helper threads, started later from here, inherit it.
  const priority = niceness === undefined ? undefined : lowerThreadPriority(niceness);
  port.on('message', (request: WorkerRequest) => {
    let reply: WorkerReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const outcome = runTrainJob(request.job);
      if (outcome.validationPredictions) transfer.push(outcome.validationPredictions.buffer as ArrayBuffer);
      if (outcome.encoded) transfer.push(outcome.encoded.buffer as ArrayBuffer);
      reply = { id: request.id, ok: true, outcome };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as { code?: unknown }).code;
      reply = {
        id: request.id,
        ok: false,
        error: {
          name: e.constructor.name || e.name,
          message: e.message,
          ...(typeof code === 'string' ? { code } : {}),
        },
      };
    }
    port.postMessage(reply, transfer);
  });
  // Module loading takes a while (hundreds of ms); the pool starts a job's clock only after this.
  port.postMessage({ ready: true, ...(priority ? { priority } : {}) } satisfies WorkerReady);
}
