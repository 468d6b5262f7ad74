import type { Dataset } from './model.ts';
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

/**
 * Helpers around the column-major Dataset of model.ts: build one from rows, take a subset of rows, and
 * split chronologically. Pure functions; every result is a fresh typed array the caller owns.
 */

export class DatasetError extends TypedError<'DATASET'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('DATASET', message, options);
  }
}

export interface DatasetOptions {
  /** Float32 halves the memory of a 116k x 30 matrix; Float64 keeps exact values for small tests. */
  readonly precision?: 'float32' | 'float64';
}

function allocate(precision: DatasetOptions['precision'], length: number): Float32Array | Float64Array {
  return precision === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

/**
 * Builds a column-major Dataset from row-major values. `null`/`undefined` cells become NaN (missing);
 * a row of the wrong width is an error rather than a silently shifted matrix.
 */
export function datasetFromRows(
  featureNames: readonly string[],
  rows: ReadonlyArray<ArrayLike<number | null | undefined>>,
  options: DatasetOptions = {},
): Dataset {
  const nRows = rows.length;
  const nCols = featureNames.length;
  const data = allocate(options.precision, nRows * nCols);
  for (let r = 0; r < nRows; r++) {
    const row = rows[r]!;
    if (row.length !== nCols) {
      throw new DatasetError(
        `row ${r} has ${row.length} values, expected ${nCols} (${featureNames.join(', ')})`,
      );
    }
    for (let c = 0; c < nCols; c++) {
      const v = row[c];
      data[c * nRows + r] = v === null || v === undefined ? NaN : v;
    }
  }
  return { featureNames: [...featureNames], nRows, data };
}

/** Wraps an existing column-major buffer after checking its size (no copy). */
export function datasetFromColumns(
  featureNames: readonly string[],
  nRows: number,
  data: Float32Array | Float64Array,
): Dataset {
  if (!Number.isInteger(nRows) || nRows < 0) throw new DatasetError(`nRows must be a count, got ${nRows}`);
  if (data.length !== nRows * featureNames.length) {
    throw new DatasetError(
      `buffer holds ${data.length} values, expected ${nRows} rows x ${featureNames.length} features`,
    );
  }
  return { featureNames: [...featureNames], nRows, data };
}

/** Copies row `r` into `out` (allocated when absent) in feature order: the shape predictRow takes. */
export function readRow(data: Dataset, r: number, out?: Float64Array): Float64Array {
  const nCols = data.featureNames.length;
  const row = out ?? new Float64Array(nCols);
  const { nRows } = data;
  for (let c = 0; c < nCols; c++) row[c] = data.data[c * nRows + r]!;
  return row;
}

/** The rows at `indices`, in that order, as a new Dataset of the same precision. */
export function sliceRows(data: Dataset, indices: ArrayLike<number>): Dataset {
  const nOut = indices.length;
  const nCols = data.featureNames.length;
  const src = data.data;
  const out = src instanceof Float64Array ? new Float64Array(nOut * nCols) : new Float32Array(nOut * nCols);
  for (let i = 0; i < nOut; i++) {
    const r = indices[i]!;
    if (!(r >= 0 && r < data.nRows)) throw new DatasetError(`row index ${r} outside [0, ${data.nRows})`);
  }
  for (let c = 0; c < nCols; c++) {
    const from = c * data.nRows;
    const to = c * nOut;
    for (let i = 0; i < nOut; i++) out[to + i] = src[from + indices[i]!]!;
  }
  return { featureNames: data.featureNames, nRows: nOut, data: out };
}

/** `values` at `indices` (targets travel with their rows). */
export function sliceValues(values: ArrayLike<number>, indices: ArrayLike<number>): Float64Array {
  const out = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]!]!;
  return out;
}

export interface RowSplit {
  readonly train: Int32Array;
  readonly test: Int32Array;
}

/**
 * Chronological split by an ISO date (`YYYY-MM-DD` strings compare in calendar order): rows dated before
 * `cutoff` train, the others test. Row order inside each part is kept (no shuffle: time must not leak).
 */
export function splitByDate(dates: readonly string[], cutoff: string): RowSplit {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < dates.length; i++) (dates[i]! < cutoff ? train : test).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

/**
 * Holds out the most recent `fraction` of rows (by date, ties kept together so one day is never split
 * across both sides) as the validation window; the rest train. Both parts come back in date order.
 */
export function splitLatestFraction(dates: readonly string[], fraction: number): RowSplit {
  if (!(fraction > 0 && fraction < 1)) throw new DatasetError(`fraction must be in (0, 1), got ${fraction}`);
  const order = Array.from(dates.keys()).sort((a, b) =>
    dates[a]! < dates[b]! ? -1 : dates[a]! > dates[b]! ? 1 : a - b,
  );
  if (order.length === 0) return { train: new Int32Array(0), test: new Int32Array(0) };
  let cut = Math.floor(order.length * (1 - fraction));
  // Move the cut back to the first row of its day so one day stays on one side.
  while (cut > 0 && cut < order.length && dates[order[cut - 1]!] === dates[order[cut]!]) cut--;
  return { train: Int32Array.from(order.slice(0, cut)), test: Int32Array.from(order.slice(cut)) };
}
