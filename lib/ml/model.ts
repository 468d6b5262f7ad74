/**
 * The contract every model family implements. Training data is column-major so that tree learners can
 * bin and scan one feature at a time; prediction takes one row (the streaming path) or a batch.
 */
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

/** Column-major feature matrix: value(row, col) = data[col * nRows + row]. NaN means missing. */
export interface Dataset {
  readonly featureNames: readonly string[];
  readonly nRows: number;
  readonly data: Float32Array | Float64Array;
}

export type Task = 'classification' | 'regression';

/** Serialized model: tagged JSON, safe to store in the registry and to load in another process. */
export interface ModelArtifact {
  readonly format: 'rainstream.model';
  readonly formatVersion: number;
  readonly family: string;
  readonly task: Task;
  readonly featureNames: readonly string[];
  readonly params: Record<string, unknown>;
  readonly body: unknown;
}

export interface Model {
  readonly family: string;
  readonly task: Task;
  readonly featureNames: readonly string[];
  /** Probability of the positive class (classification) or the predicted value (regression). */
  predictRow(row: ArrayLike<number>): number;
  predictBatch(data: Dataset, out?: Float64Array): Float64Array;
  toJSON(): ModelArtifact;
}

export interface FitOptions {
  /** Seed for every random choice: the same data, params and seed give the same model. */
  readonly seed: number;
  /** Optional slice used for early stopping (rows of the same dataset layout). */
  readonly validation?: { data: Dataset; target: Float64Array };
}

export interface WarmFitOptions extends FitOptions {
  /**
   * Family-specific knobs of the warm start (e.g. gbdt `trees`: rounds added; forest `replace`: trees
   * swapped); unknown keys are refused like unknown params.
   */
  readonly warm?: Readonly<Record<string, number>>;
}

export interface ModelFamily<P extends Record<string, unknown> = Record<string, unknown>> {
  readonly family: string;
  readonly defaults: P;
  fit(data: Dataset, target: Float64Array, task: Task, params: Partial<P>, options: FitOptions): Model;
  /**
   * Continues `base` (a model of this family, loaded from its artifact) on `data`, the rows it has not
   * learned from (or a recent window of rows): the base's params, bins and preprocessing stay as they
   * are, so the result is comparable with the base. Absent for families without a warm start.
   */
  fitWarm?(base: Model, data: Dataset, target: Float64Array, options: WarmFitOptions): Model;
  fromJSON(artifact: ModelArtifact): Model;
}

export class ModelFormatError extends TypedError<'MODEL_FORMAT'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('MODEL_FORMAT', message, options);
  }
}
