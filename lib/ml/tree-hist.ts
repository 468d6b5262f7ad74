/**
 * Layout of the GBDT gradient histograms (the kernels that fill them are in tree-wasm.ts).
 *
 * Layout choices, measured on the weather data (116k rows x 26 features, one core, JavaScript loops
 * before the kernels moved to WebAssembly; the ratios held there):
 * - Row-major codes `feature * 256 + bin` (Uint16): 1.7 ns per (row, feature) update. Column-major
 *   bytes cost 3.5 to 5.6 ns, because runs of rows in the same bin (rain = 0, missing sunshine) chain
 *   every add on the previous store to the same slot; row-major interleaves 26 different slots.
 * - Two channels per bin: gradient, and `count * C + hessian` packed in one float64. C is a power of two
 *   above twice the largest possible hessian sum, so the count is exact and the hessian keeps about
 *   1e-6 absolute precision; that saves a third read-modify-write per update, and makes a bin's two
 *   channels one 16-byte SIMD add.
 */
import { BIN_STRIDE, MISSING_BIN } from './binning.ts';

/** Histogram slots per feature: a (gradient, packed count+hessian) pair per bin. */
export const HIST_FEATURE_STRIDE = 2 * BIN_STRIDE;

/** Writes row-major binned codes, codes[row * nFeatures + f] = f * 256 + bin, into `codes`. */
export function fillRowMajorCodes(
  codes: Uint16Array,
  colBins: Uint8Array,
  nRows: number,
  nFeatures: number,
): void {
  for (let f = 0; f < nFeatures; f++) {
    const off = f * BIN_STRIDE;
    const base = f * nRows;
    for (let r = 0, p = f; r < nRows; r++, p += nFeatures) codes[p] = off + colBins[base + r]!;
  }
}

/** Power of two C with C >= 2 * maxHessianSum: the packing scale of count and hessian. */
export function packingScale(maxHessianSum: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, 2 * maxHessianSum)));
}

/** Count encoded in a packed count+hessian sum (hessian part is in [0, C/2] up to rounding). */
export function unpackCount(packed: number, invScale: number): number {
  return Math.floor(packed * invScale + 0.25);
}

export const MISSING_SLOT = 2 * MISSING_BIN;
