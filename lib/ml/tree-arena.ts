/**
 * The GBDT working memory: one WebAssembly memory holding the binned codes, the per-row gradient pairs,
 * the row partition and a pool of histograms, so the wasm kernels and the JavaScript split search
 * share them without copies. Histograms are addressed by byte offset; `f64`, `gh` and `idx` are views
 * rebuilt whenever the memory grows, so callers re-read them after `takeHist`.
 *
 * With threads = 2 the memory is shared with a helper worker (tree-hist-worker.ts) that builds the
 * histograms of the upper half of the features while this thread builds the lower half: each feature's
 * sums are still added by one thread in row order, so the model is the same as with one thread.
 * Commands go through a few Int32 slots at the start of the memory; the helper polls briefly, then
 * sleeps on Atomics.wait between commands. The upper half is claimed with a compare-and-swap by
 * whichever thread gets to it first: when the machine is busy and the helper is not scheduled in time,
 * this thread builds both halves instead of waiting. For nodes too small to pay for the hand-off, and
 * until the helper reports ready (module loading takes ~100 ms), this thread does all the work.
 */
import { Worker } from 'node:worker_threads';
import { BIN_STRIDE } from './binning.ts';
import { fillRowMajorCodes } from './tree-hist.ts';
import {
  createMemory,
  histogramKernels,
  MAX_PAGES,
  WASM_PAGE,
  type HistogramKernels,
  type WasmMemory,
} from './tree-wasm.ts';

const align16 = (n: number) => (n + 15) & ~15;

/** Int32 slots of the command block at byte 0 of the shared memory. */
export const CTRL_SEQ = 0;
export const CTRL_DONE = 1;
export const CTRL_READY = 2;
export const CTRL_OP = 3;
export const CTRL_HIST = 4;
export const CTRL_START = 5;
export const CTRL_END = 6;
export const CTRL_FAILED = 7;
/** 1 while the helper sleeps in Atomics.wait: only then does a command need a (costly) notify. */
export const CTRL_SLEEPING = 8;
/** Sequence number of the last command whose upper half someone claimed (helper or caller). */
export const CTRL_CLAIM = 9;
export const OP_RANGE = 1;
export const OP_ROWS = 2;
export const OP_EXIT = 3;

/** Below this many rows a histogram is cheaper to build alone than to hand half of it over. */
const PARALLEL_MIN_ROWS = 4096;
/** Waiting longer than this for the helper means it is gone: its half is then built here. */
const HELPER_TIMEOUT_MS = 60_000;
/**
 * How long the idle helper polls for the next command before it sleeps. Commands come every few
 * hundred microseconds during training, and waking a sleeping thread (Atomics.notify) measured about
 * 0.5 ms on a busy 2-core machine, more than half a histogram; polling keeps the hand-off cheap for
 * the few seconds a fit lasts, then the helper sleeps.
 */
const HELPER_POLL_MS = 3;

export interface HistWorkerData {
  readonly memory: WasmMemory;
  readonly codesPtr: number;
  readonly ghPtr: number;
  readonly idxPtr: number;
  readonly nFeatures: number;
  /** The helper builds features [splitFeature, nFeatures). */
  readonly splitFeature: number;
}

export class HistArena {
  readonly nRows: number;
  readonly nFeatures: number;
  /** Bytes of one histogram: a (gradient, packed count+hessian) f64 pair per code. */
  readonly histBytes: number;
  readonly memory: WasmMemory;
  readonly codesPtr: number;
  readonly ghPtr: number;
  readonly idxPtr: number;
  readonly sparePtr: number;
  readonly colBinsPtr: number;
  private readonly kernels: HistogramKernels;
  private top: number;
  private readonly free: number[] = [];
  private readonly control: Int32Array;
  private helper: Worker | null = null;
  private readonly splitFeature: number;
  private seq = 0;
  /** Histograms built with the helper's half (for the training report). */
  sharedBuilds = 0;
  /** Histograms built from every row (roots; for the training report). */
  rangeBuilds = 0;
  /** Why the helper was given up, if it was. */
  helperError: string | null = null;
  /** The whole memory as float64 (histogram slot i of the histogram at p is f64[p / 8 + i]). */
  f64!: Float64Array;
  /** Per row: gradient at 2r, count scale + hessian at 2r + 1. */
  gh!: Float64Array;
  /** Row indices, partitioned so that each leaf owns a contiguous range. */
  idx!: Int32Array;
  /** The whole memory as int32. */
  private i32!: Int32Array;

  constructor(colBins: Uint8Array, nRows: number, nFeatures: number, threads: number) {
    this.nRows = nRows;
    this.nFeatures = nFeatures;
    this.histBytes = nFeatures * BIN_STRIDE * 16;
    // Bytes 0..63: the command block; a histogram offset is therefore never 0 (and -1 means "none").
    this.codesPtr = 64;
    this.ghPtr = align16(this.codesPtr + nRows * nFeatures * 2);
    this.idxPtr = align16(this.ghPtr + nRows * 16);
    this.sparePtr = align16(this.idxPtr + nRows * 4);
    this.colBinsPtr = align16(this.sparePtr + nRows * 4);
    this.top = align16(this.colBinsPtr + nRows * nFeatures);
    // Room for a few histograms up front; the pool grows the memory when a tree needs more.
    const pages = Math.ceil((this.top + 8 * this.histBytes) / WASM_PAGE);
    if (pages > MAX_PAGES)
      throw new RangeError(`training data needs ${pages} wasm pages, over the 4 GiB limit`);
    // A helper only pays when the root, at least, is big enough to split between two threads.
    const shared = threads > 1 && nFeatures > 1 && nRows >= 2 * PARALLEL_MIN_ROWS;
    this.memory = createMemory(pages, shared);
    this.kernels = histogramKernels(this.memory, shared);
    this.control = new Int32Array(this.memory.buffer, 0, 16);
    this.splitFeature = nFeatures >> 1;
    this.refreshViews();
    fillRowMajorCodes(
      new Uint16Array(this.memory.buffer, this.codesPtr, nRows * nFeatures),
      colBins,
      nRows,
      nFeatures,
    );
    new Uint8Array(this.memory.buffer, this.colBinsPtr, nRows * nFeatures).set(colBins);
    if (shared) this.startHelper();
  }

  takeHist(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const ptr = this.top;
    this.top += this.histBytes;
    const needed = Math.ceil(this.top / WASM_PAGE) - this.memory.buffer.byteLength / WASM_PAGE;
    if (needed > 0) {
      // Grow in large steps: each growth replaces the buffer and every view on it.
      this.memory.grow(Math.max(needed, Math.ceil((8 * this.histBytes) / WASM_PAGE)));
      this.refreshViews();
    }
    return ptr;
  }

  releaseHist(ptr: number): void {
    this.free.push(ptr);
  }

  /** Histogram of the rows start..end themselves (before any partition: the root). */
  histogramOfRange(ptr: number, start: number, end: number): void {
    this.rangeBuilds++;
    this.build(OP_RANGE, ptr, start, end);
  }

  /** Histogram of the rows idx[start..end). */
  histogramOfRows(ptr: number, start: number, end: number): void {
    this.build(OP_ROWS, ptr, start, end);
  }

  /** target = source (a whole histogram). */
  copyHist(target: number, source: number): void {
    this.f64.copyWithin(target >>> 3, source >>> 3, (source + this.histBytes) >>> 3);
  }

  /** target -= other: the larger child's histogram from its parent's and its sibling's. */
  subtract(target: number, other: number): void {
    this.kernels.histSub(target, other, this.nFeatures * BIN_STRIDE);
  }

  /**
   * Stable partition of idx[start..end) by "bin of feature <= threshold" (missing rows by
   * missingLeft); returns the first position of the right part.
   */
  partition(start: number, end: number, feature: number, threshold: number, missingLeft: boolean): number {
    const mid = this.kernels.partition(
      this.colBinsPtr + feature * this.nRows,
      this.idxPtr,
      this.sparePtr,
      start,
      end,
      threshold,
      missingLeft ? 1 : 0,
    );
    const i32 = this.i32;
    const spare = this.sparePtr >>> 2;
    i32.copyWithin((this.idxPtr >>> 2) + mid, spare, spare + (end - mid));
    return mid;
  }

  /** True once the helper thread has loaded and waits for commands. */
  helperReady(): boolean {
    return this.helper !== null && Atomics.load(this.control, CTRL_READY) === 1;
  }

  /** Stops the helper (the memory stays readable). */
  dispose(): void {
    if (!this.helper) return;
    this.command(OP_EXIT, 0, 0, 0);
    void this.helper.terminate();
    this.helper = null;
  }

  private build(op: number, ptr: number, start: number, end: number): void {
    const useHelper =
      this.helper !== null &&
      end - start >= PARALLEL_MIN_ROWS &&
      Atomics.load(this.control, CTRL_READY) === 1;
    const f1 = useHelper ? this.splitFeature : this.nFeatures;
    const seq = useHelper ? this.command(op, ptr, start, end) : 0;
    this.runPart(op, ptr, start, end, 0, f1);
    if (!useHelper) return;
    if (claim(this.control, seq)) {
      this.runPart(op, ptr, start, end, f1, this.nFeatures);
    } else {
      this.sharedBuilds++;
      if (!this.awaitHelper(seq)) this.runPart(op, ptr, start, end, f1, this.nFeatures);
    }
  }

  private runPart(op: number, ptr: number, start: number, end: number, f0: number, f1: number): void {
    const k = this.kernels;
    k.histZero(ptr + f0 * BIN_STRIDE * 16, (f1 - f0) * BIN_STRIDE);
    if (op === OP_RANGE) k.histRange(ptr, this.codesPtr, this.nFeatures, f0, f1 - f0, start, end, this.ghPtr);
    else k.histRows(ptr, this.codesPtr, this.nFeatures, f0, f1 - f0, this.idxPtr, start, end, this.ghPtr);
  }

  private command(op: number, ptr: number, start: number, end: number): number {
    const c = this.control;
    c[CTRL_OP] = op;
    c[CTRL_HIST] = ptr;
    c[CTRL_START] = start;
    c[CTRL_END] = end;
    this.seq++;
    Atomics.store(c, CTRL_SEQ, this.seq);
    // Sequentially consistent: either we see the helper's flag, or its wait sees the new sequence.
    if (Atomics.load(c, CTRL_SLEEPING) === 1) Atomics.notify(c, CTRL_SEQ);
    return this.seq;
  }

  /** Waits for the helper to finish command `seq`; false (and the helper dropped) if it failed. */
  private awaitHelper(seq: number): boolean {
    const c = this.control;
    // The two halves take about as long: a short spin usually suffices and avoids a futex round trip.
    for (let spin = 0; spin < 20_000; spin++) if (Atomics.load(c, CTRL_DONE) === seq) return true;
    const started = performance.now();
    for (;;) {
      const done = Atomics.load(c, CTRL_DONE);
      if (done === seq) return true;
      if (Atomics.load(c, CTRL_FAILED) !== 0 || performance.now() - started > HELPER_TIMEOUT_MS) {
        this.helperError = Atomics.load(c, CTRL_FAILED) !== 0 ? 'helper failed' : 'helper timed out';
        void this.helper?.terminate();
        this.helper = null;
        return false;
      }
      Atomics.wait(c, CTRL_DONE, done, 100);
    }
  }

  private startHelper(): void {
    const workerData: HistWorkerData = {
      memory: this.memory,
      codesPtr: this.codesPtr,
      ghPtr: this.ghPtr,
      idxPtr: this.idxPtr,
      nFeatures: this.nFeatures,
      splitFeature: this.splitFeature,
    };
    try {
      this.helper = new Worker(new URL('./tree-hist-worker.ts', import.meta.url), { workerData });
      this.helper.unref();
      this.helper.on('error', (err) => {
        this.helperError = err.message;
      });
    } catch (err) {
      this.helper = null;
      this.helperError = (err as Error).message;
    }
  }

  private refreshViews(): void {
    const buf = this.memory.buffer;
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
    this.gh = new Float64Array(buf, this.ghPtr, 2 * this.nRows);
    this.idx = new Int32Array(buf, this.idxPtr, this.nRows);
  }
}

/**
 * Claims the upper half of command `seq`; false when it, or a later command, is claimed already. The
 * helper may come back to a command it read before being descheduled, after the caller built that
 * command's upper half itself and moved on: claiming the stale sequence then would build a later
 * command's histogram (its parameters are the latest ones) at the same time as the caller, adding every
 * row twice. Sequences only grow, so "claimed at or past seq" is the test.
 */
export function claim(c: Int32Array, seq: number): boolean {
  for (;;) {
    const v = Atomics.load(c, CTRL_CLAIM);
    if (v >= seq) return false;
    if (Atomics.compareExchange(c, CTRL_CLAIM, v, seq) === v) return true;
  }
}

/** The helper's loop (the whole of tree-hist-worker.ts): build the upper features on command. */
export function runHistWorker(d: HistWorkerData): void {
  const c = new Int32Array(d.memory.buffer, 0, 16);
  try {
    const k = histogramKernels(d.memory, true);
    const f0 = d.splitFeature;
    const nf = d.nFeatures - f0;
    let seen = Atomics.load(c, CTRL_SEQ);
    Atomics.store(c, CTRL_READY, 1);
    for (;;) {
      let seq = Atomics.load(c, CTRL_SEQ);
      const pollUntil = performance.now() + HELPER_POLL_MS;
      for (let spin = 1; seq === seen; spin++) {
        if ((spin & 1023) === 0 && performance.now() > pollUntil) break;
        seq = Atomics.load(c, CTRL_SEQ);
      }
      while (seq === seen) {
        Atomics.store(c, CTRL_SLEEPING, 1);
        Atomics.wait(c, CTRL_SEQ, seen);
        Atomics.store(c, CTRL_SLEEPING, 0);
        seq = Atomics.load(c, CTRL_SEQ);
      }
      seen = seq;
      const op = c[CTRL_OP]!;
      if (op === OP_EXIT) return;
      if (!claim(c, seq)) continue;
      const ptr = c[CTRL_HIST]!;
      const start = c[CTRL_START]!;
      const end = c[CTRL_END]!;
      k.histZero(ptr + f0 * BIN_STRIDE * 16, nf * BIN_STRIDE);
      if (op === OP_RANGE) k.histRange(ptr, d.codesPtr, d.nFeatures, f0, nf, start, end, d.ghPtr);
      else k.histRows(ptr, d.codesPtr, d.nFeatures, f0, nf, d.idxPtr, start, end, d.ghPtr);
      Atomics.store(c, CTRL_DONE, seq);
      Atomics.notify(c, CTRL_DONE);
    }
  } catch {
    Atomics.store(c, CTRL_FAILED, 1);
    Atomics.notify(c, CTRL_DONE);
  }
}
