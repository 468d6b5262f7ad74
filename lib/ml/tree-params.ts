/** Parameter and input checks shared by the tree families: fail before hours of training, not during. */
import { ModelParamsError } from './artifact.ts';
import type { Dataset, Task } from './model.ts';

export interface NumberRule {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  /** The minimum itself is not allowed (e.g. a learning rate of 0). */
  readonly exclusiveMin?: boolean;
}

/** Merges params over defaults and checks every numeric field against its rule. */
export function resolveParams<P extends Record<string, number>>(
  family: string,
  defaults: P,
  given: Partial<P>,
  rules: { readonly [K in keyof P]: NumberRule },
): P {
  for (const key of Object.keys(given)) {
    if (!(key in defaults)) throw new ModelParamsError(`${family}: unknown parameter ${key}`);
  }
  const out = { ...defaults, ...given } as P;
  for (const key of Object.keys(rules) as (keyof P & string)[]) {
    const v = out[key];
    const rule = rules[key];
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (rule.exclusiveMin ? v > rule.min : v >= rule.min) &&
      v <= rule.max &&
      (!rule.integer || Number.isInteger(v));
    if (!ok) {
      const range = `${rule.exclusiveMin ? '(' : '['}${rule.min}, ${rule.max}]`;
      throw new ModelParamsError(
        `${family}: ${key} must be ${rule.integer ? 'an integer' : 'a number'} in ${range}, got ${v}`,
      );
    }
  }
  return out;
}

/** Checks the shape of a training set and its target before any work is done. */
export function checkTrainingData(family: string, data: Dataset, target: Float64Array, task: Task): void {
  const nFeatures = data.featureNames.length;
  if (nFeatures === 0) throw new ModelParamsError(`${family}: the data set has no features`);
  if (data.nRows < 2) throw new ModelParamsError(`${family}: need at least 2 rows, got ${data.nRows}`);
  if (data.data.length !== data.nRows * nFeatures) {
    throw new ModelParamsError(
      `${family}: data holds ${data.data.length} values, expected ${data.nRows} x ${nFeatures}`,
    );
  }
  if (target.length !== data.nRows) {
    throw new ModelParamsError(`${family}: target has ${target.length} values for ${data.nRows} rows`);
  }
  for (let i = 0; i < target.length; i++) {
    const y = target[i]!;
    if (task === 'classification' ? y !== 0 && y !== 1 : !Number.isFinite(y)) {
      throw new ModelParamsError(
        `${family}: target[${i}] = ${y} is not ${task === 'classification' ? '0 or 1' : 'a finite number'}`,
      );
    }
  }
}

/** Rows [start, end) of a column-major data set, as a new data set. */
export function sliceRows(data: Dataset, start: number, end: number): Dataset {
  const n = data.nRows;
  const m = end - start;
  const nFeatures = data.featureNames.length;
  const out = new Float64Array(m * nFeatures);
  for (let f = 0; f < nFeatures; f++) out.set(data.data.subarray(f * n + start, f * n + end), f * m);
  return { featureNames: data.featureNames, nRows: m, data: out };
}
