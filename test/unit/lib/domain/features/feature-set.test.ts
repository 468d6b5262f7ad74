import { describe, expect, it } from 'vitest';
import {
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
  FeatureSetError,
  STATIONS,
  UNCLIPPED_FEATURES,
  featureNamesFor,
  indexOfFeatures,
  locationCode,
} from '../../../../../lib/domain/features/feature-set.ts';
import { NUMERIC_FIELDS } from '../../../../../lib/domain/weather/observation.ts';
import { observation } from '../../../../support/observations.ts';
import { featuresStep } from '../../../../../consumers/features/step.ts';

const at = (name: string) => {
  const i = FEATURE_NAMES.indexOf(name);
  if (i < 0) throw new Error(`no feature ${name}`);
  return i;
};

describe('feature set fs1', () => {
  it('names each feature once, and the step fills exactly that many', () => {
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_NAMES.length);
    expect(FEATURE_NAMES.length).toBe(48);
    const { output } = featuresStep(null, observation({ date: '2017-01-01' }), 0);
    expect(output!.values).toHaveLength(FEATURE_NAMES.length);
    expect(featureNamesFor(FEATURE_SET_VERSION)).toBe(FEATURE_NAMES);
    expect(featureNamesFor('fs0')).toBeUndefined();
    for (const name of UNCLIPPED_FEATURES) expect(FEATURE_NAMES).toContain(name);
  });

  it('writes each raw measurement under its own name (the spelled-out order matches FEATURE_NAMES)', () => {
    const fields = Object.keys(NUMERIC_FIELDS) as (keyof typeof NUMERIC_FIELDS)[];
    const obs = observation({
      date: '2017-01-01',
      ...Object.fromEntries(fields.map((f, i) => [f, 100 + i])),
    });
    const values = featuresStep(null, obs, 0).output!.values;
    fields.forEach((f, i) => expect(values[at(f)], f).toBe(100 + i));
  });

  it('has a fixed, sorted list of the 49 weatherAUS stations; unknown stations are missing', () => {
    expect(STATIONS).toHaveLength(49);
    expect([...STATIONS].sort()).toEqual(STATIONS);
    expect(locationCode('Adelaide')).toBe(0);
    expect(locationCode('Albury')).toBe(2);
    expect(locationCode('Woomera')).toBe(48);
    expect(locationCode('Atlantis')).toBeNaN();
  });

  it('finds feature positions by name and names the one that is absent', () => {
    expect(Array.from(indexOfFeatures(FEATURE_NAMES, ['month', 'minTemp']))).toEqual([at('month'), 0]);
    expect(() => indexOfFeatures(FEATURE_NAMES, ['month', 'rainTomorrow'])).toThrow(FeatureSetError);
    expect(() => indexOfFeatures(FEATURE_NAMES, ['rainTomorrow'])).toThrow(/rainTomorrow/);
  });
});
