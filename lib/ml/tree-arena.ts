/**
 * The GBDT working memory: one WebAssembly memory holding the binned codes, the per-row gradient pairs,
 * the row partition and a pool of histograms, so the wasm kernels and the JavaScript split search
 * share them without copies. Histograms are addressed by byte offset; `f64`, `gh` and `idx` are views
 * rebuilt whenever the memory grows, so callers re-read them after `takeHist`.
 */
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

export class HistArena {
  readonly nRows: number;
  readonly nFeatures: number;
  /** Bytes of one histogram: a (gradient, packed count+hessian) f64 pair per code. */
  readonly histBytes: number;
  readonly memory: WasmMemory;
  readonly codesPtr: number;
  readonly ghPtr: number;
  readonly idxPtr: number;
  private readonly kernels: HistogramKernels;
  private top: number;
  private readonly free: number[] = [];
  /** The whole memory as float64 (histogram slot i of the histogram at p is f64[p / 8 + i]). */
  f64!: Float64Array;
  /** Per row: gradient at 2r, count scale + hessian at 2r + 1. */
  gh!: Float64Array;
  /** Row indices, partitioned so that each leaf owns a contiguous range. */
  idx!: Int32Array;

  constructor(colBins: Uint8Array, nRows: number, nFeatures: number) {
    this.nRows = nRows;
    this.nFeatures = nFeatures;
    this.histBytes = nFeatures * BIN_STRIDE * 16;
    // Offset 0 stays unused so that a histogram offset is never 0 (and -1 can mean "none").
    this.codesPtr = 64;
    this.ghPtr = align16(this.codesPtr + nRows * nFeatures * 2);
    this.idxPtr = align16(this.ghPtr + nRows * 16);
    this.top = align16(this.idxPtr + nRows * 4);
    // Room for a few histograms up front; the pool grows the memory when a tree needs more.
    const pages = Math.ceil((this.top + 8 * this.histBytes) / WASM_PAGE);
    if (pages > MAX_PAGES)
      throw new RangeError(`training data needs ${pages} wasm pages, over the 4 GiB limit`);
    this.memory = createMemory(pages, false);
    this.kernels = histogramKernels(this.memory, false);
    this.refreshViews();
    fillRowMajorCodes(
      new Uint16Array(this.memory.buffer, this.codesPtr, nRows * nFeatures),
      colBins,
      nRows,
      nFeatures,
    );
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
    this.zero(ptr);
    this.kernels.histRange(ptr, this.codesPtr, this.nFeatures, 0, this.nFeatures, start, end, this.ghPtr);
  }

  /** Histogram of the rows idx[start..end). */
  histogramOfRows(ptr: number, start: number, end: number): void {
    this.zero(ptr);
    this.kernels.histRows(
      ptr,
      this.codesPtr,
      this.nFeatures,
      0,
      this.nFeatures,
      this.idxPtr,
      start,
      end,
      this.ghPtr,
    );
  }

  /** target -= other: the larger child's histogram from its parent's and its sibling's. */
  subtract(target: number, other: number): void {
    this.kernels.histSub(target, other, this.nFeatures * BIN_STRIDE);
  }

  private zero(ptr: number): void {
    this.f64.fill(0, ptr >>> 3, (ptr + this.histBytes) >>> 3);
  }

  private refreshViews(): void {
    const buf = this.memory.buffer;
    this.f64 = new Float64Array(buf);
    this.gh = new Float64Array(buf, this.ghPtr, 2 * this.nRows);
    this.idx = new Int32Array(buf, this.idxPtr, this.nRows);
  }
}
