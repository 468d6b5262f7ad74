/**
 * The features stage's pure step: an observation and its station's window in, the day's feature vector
 * (or why there is none) and the new window out. The window arithmetic is the domain's
 * (lib/domain/features/station-window.ts), shared with training and the API.
 */
import type { FeatureVector, Observation } from '../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import {
  featuresStepInto,
  type FeaturesOutcome,
  type StationState,
} from '../../lib/domain/features/station-window.ts';

export interface FeaturesStepResult {
  output: FeatureVector | null;
  state: StationState;
  outcome: FeaturesOutcome;
}

/**
 * Duplicates and late days give no output (see featuresStepInto for why); `ingestedAt` is carried so the
 * predictor can measure observation-to-prediction latency.
 */
export function featuresStep(
  state: StationState | null,
  obs: Observation,
  ingestedAt: number,
): FeaturesStepResult {
  const values = new Array<number>(FEATURE_NAMES.length);
  const { state: next, outcome } = featuresStepInto(state, obs, values, 0, 1);
  if (outcome !== 'emitted') return { output: null, state: next, outcome };
  const output: FeatureVector = {
    location: obs.location,
    date: obs.date,
    featureSetVersion: FEATURE_SET_VERSION,
    values,
    rainToday: obs.rainToday,
    rainfall: obs.rainfall,
    ingestedAt,
  };
  return { output, state: next, outcome };
}

export interface FeaturesBatchResult {
  outputs: FeatureVector[];
  /** States that changed, by location: what the shell writes back. */
  changed: Map<string, StationState>;
  outcomes: Record<FeaturesOutcome, number>;
}

/**
 * The step over one partition's observations in order. `states` holds the stations' windows as loaded and
 * is updated in place, so a station seen twice in the batch sees its own earlier day.
 */
export function featuresBatchStep(
  events: readonly { event: Observation; ingestedAt: number }[],
  states: Map<string, StationState | null>,
): FeaturesBatchResult {
  const outputs: FeatureVector[] = [];
  const changed = new Map<string, StationState>();
  const outcomes: Record<FeaturesOutcome, number> = { emitted: 0, duplicate: 0, late: 0 };
  for (const { event, ingestedAt } of events) {
    const before = states.get(event.location) ?? null;
    const result = featuresStep(before, event, ingestedAt);
    outcomes[result.outcome]++;
    if (result.state !== before) {
      states.set(event.location, result.state);
      changed.set(event.location, result.state);
    }
    if (result.output) outputs.push(result.output);
  }
  return { outputs, changed, outcomes };
}
