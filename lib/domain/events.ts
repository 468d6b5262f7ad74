/**
 * TypeScript shapes of the Avro records in schemas/*.avsc. The registry module encodes and decodes
 * these; the stages' pure steps only ever see these types.
 */
export type { Observation } from './weather/observation.ts';

export interface FeatureVector {
  location: string;
  date: string;
  featureSetVersion: string;
  /** In the order of the feature set's names; NaN = missing. */
  values: number[];
  rainToday: boolean | null;
  rainfall: number | null;
  ingestedAt: number;
}

export interface Prediction {
  location: string;
  date: string;
  probability: number;
  decision: boolean;
  threshold: number;
  modelVersion: string;
  featureSetVersion: string;
  values: number[];
  rainToday: boolean | null;
  rainfall: number | null;
  ingestedAt: number;
  predictedAt: number;
}

export interface LabeledExample {
  location: string;
  date: string;
  featureSetVersion: string;
  values: number[];
  label: boolean;
  rainfallNext: number | null;
  probability: number;
  modelVersion: string;
}

export type DriftKind = 'feature' | 'prediction' | 'performance';

export interface DriftAlert {
  week: string;
  modelVersion: string;
  kind: DriftKind;
  name: string;
  statistic: string;
  value: number;
  threshold: number;
}

export interface ModelEvent {
  alias: 'champion' | 'challenger';
  version: string;
  family: string;
  previousVersion: string | null;
  reason: string;
  at: number;
}

/** Schema file (under schemas/) of each event type, used for registration and subjects. */
export const SCHEMA_FILES = {
  observation: 'observation.avsc',
  features: 'features.avsc',
  prediction: 'prediction.avsc',
  labeled: 'labeled-example.avsc',
  driftAlert: 'drift-alert.avsc',
  modelEvent: 'model-event.avsc',
} as const;
export type EventKind = keyof typeof SCHEMA_FILES;
