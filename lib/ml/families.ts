import { assertSameFeatures, checkArtifactTag, featureMismatch } from './artifact.ts';
import { climatologyFamily } from './climatology.ts';
import { forestFamily } from './forest.ts';
import { gbdtFamily } from './gbdt.ts';
import { linregFamily, logregFamily } from './linear.ts';
import { mlrfFamily } from './mlrf.ts';
import { ModelFormatError, type Model, type ModelFamily } from './model.ts';
import { TypedError, type TypedErrorOptions } from '../platform/errors.ts';

/**
 * Family name -> implementation, and the one loader every process uses for stored artifacts. The
 * families are stateless objects, so one frozen table is shared; callers that want another set (tests,
 * a worker limited to some families) pass their own registry.
 */

export type FamilyRegistry = Readonly<Record<string, ModelFamily>>;

export const FAMILIES = Object.freeze({
  gbdt: gbdtFamily as unknown as ModelFamily,
  forest: forestFamily as unknown as ModelFamily,
  logreg: logregFamily as unknown as ModelFamily,
  linreg: linregFamily as unknown as ModelFamily,
  mlrf: mlrfFamily as unknown as ModelFamily,
  climatology: climatologyFamily as unknown as ModelFamily,
}) satisfies FamilyRegistry;

export type FamilyName = keyof typeof FAMILIES;

export class UnknownFamilyError extends TypedError<'UNKNOWN_FAMILY'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('UNKNOWN_FAMILY', message, options);
  }
}

export function isFamilyName(name: string, registry: FamilyRegistry = FAMILIES): boolean {
  return Object.hasOwn(registry, name);
}

export function familyByName(name: string, registry: FamilyRegistry = FAMILIES): ModelFamily {
  if (!Object.hasOwn(registry, name)) {
    throw new UnknownFamilyError(
      `unknown model family ${JSON.stringify(name)}; known: ${Object.keys(registry).join(', ')}`,
    );
  }
  return registry[name]!;
}

/**
 * Loads a stored artifact for a consumer whose features are `expectedFeatureNames` (in order). Rejects,
 * with ModelFormatError, anything that is not a rainstream model, an unknown family, and a model trained
 * on another feature list: a model fed features in the wrong order predicts garbage without failing.
 */
export function loadModel(
  artifact: unknown,
  expectedFeatureNames: readonly string[],
  registry: FamilyRegistry = FAMILIES,
): Model {
  const tagged = checkArtifactTag(artifact);
  if (!Object.hasOwn(registry, tagged.family)) {
    throw new ModelFormatError(
      `unknown model family ${JSON.stringify(tagged.family)}; known: ${Object.keys(registry).join(', ')}`,
    );
  }
  const mismatch = featureMismatch(expectedFeatureNames, tagged.featureNames);
  if (mismatch !== null) {
    throw new ModelFormatError(`${tagged.family} model was trained on other features: ${mismatch}`);
  }
  const model = registry[tagged.family]!.fromJSON(tagged);
  assertSameFeatures(expectedFeatureNames, model.featureNames);
  if (model.task !== tagged.task)
    throw new ModelFormatError(`loaded a ${model.task} model from a ${tagged.task} artifact`);
  return model;
}
