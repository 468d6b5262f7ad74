import { parentPort, workerData } from 'node:worker_threads';
import { FAMILIES, familyByName, type FamilyRegistry } from './families.ts';
import type { Dataset, ModelArtifact, Task } from './model.ts';

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
}

export function runTrainJob(job: TrainJob, registry: FamilyRegistry = FAMILIES): TrainOutcome {
  const family = familyByName(job.family, registry);
  const started = performance.now();
  const model = family.fit(job.train.data, job.train.target, job.task, job.params, {
    seed: job.seed,
    ...(job.earlyStopOnValidation && job.validation ? { validation: job.validation } : {}),
  });
  const trainSeconds = (performance.now() - started) / 1000;
  const artifact = model.toJSON();
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

/** First message of a worker whose modules are loaded and whose listener is attached. */
export const WORKER_READY = { ready: true } as const;

/** Marker the pool puts in workerData, so importing this module elsewhere never attaches a listener. */
export const TRAIN_WORKER_MARKER = 'rainstream.train-worker';

if (parentPort && (workerData as { role?: unknown } | null)?.role === TRAIN_WORKER_MARKER) {
  const port = parentPort;
  port.on('message', (request: WorkerRequest) => {
    let reply: WorkerReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const outcome = runTrainJob(request.job);
      if (outcome.validationPredictions) transfer.push(outcome.validationPredictions.buffer as ArrayBuffer);
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
  port.postMessage(WORKER_READY);
}
