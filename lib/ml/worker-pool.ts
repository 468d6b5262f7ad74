import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { PriorityOutcome } from '../platform/thread-priority.ts';
import {
  TRAIN_WORKER_MARKER,
  type TrainJob,
  type TrainOutcome,
  type WorkerReady,
  type WorkerReply,
} from './train-worker.ts';
import { TypedError } from '../platform/errors.ts';

/** Workers that die before they are ready, in a row, before the pool gives up (a broken worker script). */
const MAX_BOOT_FAILURES = 3;

/**
 * A small pool of worker threads that train models off the event loop, so consumers and the API keep
 * serving during a retraining. One job per worker at a time, FIFO queue. A worker that crashes, runs
 * out of memory or overruns its time limit is replaced; its job fails with a typed error and the pool
 * carries on. Default size 1: on a 2-core machine the other core keeps serving.
 */

export type TrainingErrorCode =
  /** The learner threw (bad params or data); `causeCode` holds the learner's own code. */
  | 'TRAINING_FAILED'
  /** The worker thread died (uncaught error, out of memory, exit) while running the job. */
  | 'WORKER_CRASHED'
  | 'TRAINING_TIMEOUT'
  | 'POOL_CLOSED';

export class TrainingError extends TypedError<TrainingErrorCode> {
  /** Code of the error thrown inside the worker (e.g. MODEL_PARAMS), when there was one. */
  readonly causeCode: string | undefined;

  constructor(code: TrainingErrorCode, message: string, causeCode?: string, options?: ErrorOptions) {
    // A crash or timeout may pass on another attempt; a learner's own error will not.
    super(code, message, {
      cause: options?.cause,
      retriable: code === 'WORKER_CRASHED' || code === 'TRAINING_TIMEOUT',
    });
    this.causeCode = causeCode;
  }
}

export interface TrainingPoolOptions {
  /** Worker threads; default 1. */
  readonly size?: number;
  /** A job running longer is abandoned (its worker terminated and replaced); default none. */
  readonly timeoutMs?: number;
  /** V8 heap limits per worker, so a runaway training dies alone instead of taking the process down. */
  readonly resourceLimits?: ResourceLimits;
  /** Script each worker runs; default train-worker.ts beside this file. */
  readonly workerUrl?: URL;
  /**
   * Nice value (0..19) each worker thread gives itself at start (Linux; lib/platform/thread-priority.ts):
   * background work such as scheduled full refits yields the cores to the stream. Default: the process'.
   */
  readonly niceness?: number;
}

export interface SubmitOptions {
  /**
   * Move the training buffers into the worker instead of copying them: no copy, but the caller's typed
   * arrays are detached afterwards. Buffers backed by a SharedArrayBuffer are shared either way.
   */
  readonly transfer?: boolean;
}

interface PendingJob {
  readonly id: number;
  readonly job: TrainJob;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (outcome: TrainOutcome) => void;
  readonly reject: (err: TrainingError) => void;
}

interface Slot {
  worker: Worker;
  /** The worker has loaded its modules and said so; jobs go only to ready workers. */
  ready: boolean;
  /** How the worker's thread priority went, when the pool asked for one. */
  priority: PriorityOutcome | null;
  current: PendingJob | null;
  timer: NodeJS.Timeout | null;
  /** Set once the slot's worker is being replaced, so its exit event is not treated as a crash. */
  retired: boolean;
}

function transferables(job: TrainJob): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: Float32Array | Float64Array) => {
    if (a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  };
  add(job.train.data.data);
  add(job.train.target);
  if (job.validation) {
    add(job.validation.data.data);
    add(job.validation.target);
  }
  return [...out];
}

export class TrainingPool {
  private readonly slots: Slot[] = [];
  private readonly queue: PendingJob[] = [];
  private readonly options: Required<Pick<TrainingPoolOptions, 'size' | 'workerUrl'>> & TrainingPoolOptions;
  private nextId = 1;
  private closed = false;
  private crashes = 0;
  private bootFailures = 0;
  /** Set when workers keep dying before they are ready: the pool then refuses work instead of respawning. */
  private broken: string | null = null;

  constructor(options: TrainingPoolOptions = {}) {
    const size = options.size ?? 1;
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`pool size must be a positive integer, got ${size}`);
    this.options = {
      ...options,
      size,
      workerUrl: options.workerUrl ?? new URL('./train-worker.ts', import.meta.url),
    };
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Jobs waiting for a worker (not counting running ones). */
  get queued(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.slots.filter((s) => s.current !== null).length;
  }

  /** Each ready worker's thread priority outcome (empty unless the pool was given a niceness). */
  get priorities(): PriorityOutcome[] {
    return this.slots.flatMap((s) => (s.ready && s.priority ? [s.priority] : []));
  }

  /** Workers replaced after a crash or timeout since the pool started. */
  get replacedWorkers(): number {
    return this.crashes;
  }

  train(job: TrainJob, submit: SubmitOptions = {}): Promise<TrainOutcome> {
    if (this.closed) return Promise.reject(new TrainingError('POOL_CLOSED', 'training pool is closed'));
    if (this.broken !== null) return Promise.reject(new TrainingError('WORKER_CRASHED', this.broken));
    return new Promise<TrainOutcome>((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        job,
        transfer: submit.transfer ? transferables(job) : [],
        resolve,
        reject,
      });
      this.dispatch();
    });
  }

  /** Terminates every worker; queued and running jobs fail with POOL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = () => new TrainingError('POOL_CLOSED', 'training pool closed before the job finished');
    for (const p of this.queue.splice(0)) p.reject(err());
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.retired = true;
        this.clearTimer(slot);
        const current = slot.current;
        slot.current = null;
        if (current) current.reject(err());
        await slot.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.workerUrl, {
      workerData: { role: TRAIN_WORKER_MARKER, niceness: this.options.niceness },
      ...(this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {}),
    });
    const slot: Slot = { worker, ready: false, priority: null, current: null, timer: null, retired: false };
    // An idle worker must not keep the process alive (a CLI that forgot close() still exits).
    worker.unref();
    worker.on('message', (reply: WorkerReply | WorkerReady) => {
      if ('ready' in reply) {
        slot.ready = true;
        slot.priority = reply.priority ?? null;
        this.bootFailures = 0;
        this.dispatch();
      } else this.onReply(slot, reply);
    });
    worker.on('error', (err: Error) => this.onCrash(slot, `worker error: ${err.message}`, err));
    worker.on('exit', (code: number) => this.onCrash(slot, `worker exited with code ${code}`));
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.current !== null || slot.retired || !slot.ready) continue;
      const pending = this.queue.shift()!;
      slot.current = pending;
      // A running job keeps the process alive until its answer comes.
      slot.worker.ref();
      if (this.options.timeoutMs !== undefined) {
        const ms = this.options.timeoutMs;
        slot.timer = setTimeout(() => {
          this.replace(
            slot,
            new TrainingError('TRAINING_TIMEOUT', `${pending.job.family} training exceeded ${ms} ms`),
          );
        }, ms);
      }
      slot.worker.postMessage({ id: pending.id, job: pending.job }, pending.transfer);
    }
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const pending = slot.current;
    if (pending === null || pending.id !== reply.id) return;
    this.clearTimer(slot);
    slot.current = null;
    slot.worker.unref();
    if (reply.ok) pending.resolve(reply.outcome);
    else {
      pending.reject(
        new TrainingError(
          'TRAINING_FAILED',
          `${pending.job.family} training failed: ${reply.error.name}: ${reply.error.message}`,
          reply.error.code,
        ),
      );
    }
    this.dispatch();
  }

  private onCrash(slot: Slot, reason: string, cause?: Error): void {
    if (slot.retired) return;
    const job = slot.current?.job;
    this.replace(
      slot,
      new TrainingError(
        'WORKER_CRASHED',
        job ? `${job.family} training lost: ${reason}` : reason,
        (cause as { code?: string } | undefined)?.code,
        cause ? { cause } : undefined,
      ),
    );
  }

  /** Fails the slot's job (if any) and puts a fresh worker in its place. */
  private replace(slot: Slot, err: TrainingError): void {
    if (slot.retired) return;
    slot.retired = true;
    this.clearTimer(slot);
    const pending = slot.current;
    slot.current = null;
    void slot.worker.terminate();
    this.crashes++;
    if (pending) pending.reject(err);
    if (this.closed) return;
    if (!slot.ready && ++this.bootFailures >= MAX_BOOT_FAILURES) {
      this.broken = `training workers fail to start (${this.bootFailures} in a row): ${err.message}`;
      for (const p of this.queue.splice(0)) p.reject(new TrainingError('WORKER_CRASHED', this.broken));
      return;
    }
    const index = this.slots.indexOf(slot);
    this.slots[index] = this.spawn();
    this.dispatch();
  }

  private clearTimer(slot: Slot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
  }
}
