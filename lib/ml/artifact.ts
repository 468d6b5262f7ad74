import { ModelFormatError, type ModelArtifact, type Task } from './model.ts';
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

/**
 * Checks shared by the families this module's siblings implement (linear, mlrf) and by the registry
 * loader (families.ts): the artifact tag, the task, and the feature list a model was trained on.
 */

export const ARTIFACT_FORMAT = 'rainstream.model';

/** Bad training input or parameters (not a format problem): the caller's mistake, never retried. */
export class ModelParamsError extends TypedError<'MODEL_PARAMS'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('MODEL_PARAMS', message, options);
  }
}

/** The first position where two feature lists differ, described for an error message; null if equal. */
export function featureMismatch(expected: readonly string[], actual: readonly string[]): string | null {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (expected[i] !== actual[i]) {
      const want = expected[i] === undefined ? '(none)' : JSON.stringify(expected[i]);
      const got = actual[i] === undefined ? '(none)' : JSON.stringify(actual[i]);
      return `feature ${i} is ${got}, expected ${want} (${actual.length} features given, ${expected.length} expected)`;
    }
  }
  return null;
}

/** Throws ModelFormatError when `actual` is not exactly the model's feature list, in order. */
export function assertSameFeatures(expected: readonly string[], actual: readonly string[]): void {
  if (expected === actual) return;
  const mismatch = featureMismatch(expected, actual);
  if (mismatch !== null) throw new ModelFormatError(`feature list mismatch: ${mismatch}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates the tag of an artifact (format, version, family, task, feature names) and returns it typed.
 * Body checks stay with each family, which alone knows its body's shape.
 */
export function checkArtifact(artifact: unknown, family: string, formatVersion: number): ModelArtifact {
  const a = checkArtifactTag(artifact);
  if (a.family !== family) throw new ModelFormatError(`artifact is a ${a.family} model, not ${family}`);
  if (a.formatVersion !== formatVersion) {
    throw new ModelFormatError(
      `${family} artifact has format version ${a.formatVersion}, this build reads ${formatVersion}`,
    );
  }
  return a;
}

/** The family-independent part of checkArtifact. */
export function checkArtifactTag(artifact: unknown): ModelArtifact {
  if (!isRecord(artifact)) throw new ModelFormatError('artifact is not an object');
  if (artifact.format !== ARTIFACT_FORMAT) {
    throw new ModelFormatError(
      `artifact format is ${JSON.stringify(artifact.format)}, expected "${ARTIFACT_FORMAT}"`,
    );
  }
  if (typeof artifact.formatVersion !== 'number' || !Number.isInteger(artifact.formatVersion)) {
    throw new ModelFormatError('artifact formatVersion is not an integer');
  }
  if (typeof artifact.family !== 'string') throw new ModelFormatError('artifact family is not a string');
  if (artifact.task !== 'classification' && artifact.task !== 'regression') {
    throw new ModelFormatError(`artifact task is ${JSON.stringify(artifact.task)}`);
  }
  const names = artifact.featureNames;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
    throw new ModelFormatError('artifact featureNames is not a non-empty list of strings');
  }
  if (!isRecord(artifact.params)) throw new ModelFormatError('artifact params is not an object');
  return artifact as unknown as ModelArtifact;
}

/** A finite-number array of the given length from an artifact body, or ModelFormatError naming the field. */
export function numberArray(body: Record<string, unknown>, field: string, length: number): Float64Array {
  const v = body[field];
  if (
    !Array.isArray(v) ||
    v.length !== length ||
    !v.every((x) => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw new ModelFormatError(`artifact body.${field} is not ${length} finite numbers`);
  }
  return Float64Array.from(v as number[]);
}

export function bodyRecord(artifact: ModelArtifact): Record<string, unknown> {
  if (!isRecord(artifact.body)) throw new ModelFormatError('artifact body is not an object');
  return artifact.body;
}

/** Checks the target suits the task: 0/1 labels for classification, finite values for regression. */
export function checkTarget(target: ArrayLike<number>, nRows: number, task: Task): void {
  if (target.length !== nRows)
    throw new ModelParamsError(`target has ${target.length} values for ${nRows} rows`);
  for (let i = 0; i < target.length; i++) {
    const v = target[i]!;
    if (task === 'classification' ? v !== 0 && v !== 1 : !Number.isFinite(v)) {
      throw new ModelParamsError(
        `target at row ${i} is ${v}: ${task} needs ${task === 'classification' ? '0 or 1' : 'a finite number'}`,
      );
    }
  }
}
