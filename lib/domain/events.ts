/**
 * The events of the pipeline: TypeScript shapes of the Avro records in schemas/*.avsc, the topic each is
 * written to, and the codec that registers and encodes them. The stages' pure steps only ever see these
 * types.
 */
import { fileURLToPath } from 'node:url';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Topics } from '../platform/config.ts';
import {
  registerCatalogue,
  valueSubject,
  type CatalogueEntry,
  type Codec,
} from '../platform/schema-registry.ts';
import type { Observation } from './weather/observation.ts';

export type { Observation } from './weather/observation.ts';

/** The Avro schema files (schemas/ at the repository root). */
export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

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

/** An operator's command (schemas/command.avsc); the trainer runs kind 'retrain'. */
export interface Command {
  id: string;
  kind: 'retrain';
  reason: string;
  requestedBy: string;
  at: number;
}

export type SubscriptionKind = 'forecast' | 'champion' | 'drift';

/** An alert subscription (schemas/subscription.avsc), keyed by id on a compacted topic. */
export interface Subscription {
  id: string;
  kind: SubscriptionKind;
  location: string | null;
  threshold: number | null;
  url: string;
  secret: string;
  description: string;
  createdBy: string;
  createdAt: number;
}

/** One Open-Meteo answer as received (producers/open-meteo), before mapping. */
export interface OpenMeteoRawAnswer {
  station: string;
  latitude: number;
  longitude: number;
  timezone: string;
  mode: string;
  from: string;
  to: string;
  url: string;
  status: number;
  contentType: string | null;
  body: string;
  fetchedAt: string;
  attempts: number;
}

/** A live station's days already on the observations topic (producers/open-meteo/ingestion-state.ts). */
export interface OpenMeteoIngestionState {
  station: string;
  observationsPartition: number;
  ranges: { from: string; to: string }[];
  fingerprints: Buffer;
  offsets: number[];
  updatedAt: number;
}

/** Schema file (under schemas/) of each event type, used for registration and subjects. */
export const SCHEMA_FILES = {
  observation: 'observation.avsc',
  features: 'features.avsc',
  prediction: 'prediction.avsc',
  labeled: 'labeled-example.avsc',
  driftAlert: 'drift-alert.avsc',
  modelEvent: 'model-event.avsc',
  command: 'command.avsc',
  subscription: 'subscription.avsc',
  openMeteoRaw: 'open-meteo-raw.avsc',
  openMeteoState: 'open-meteo-state.avsc',
} as const;
export type EventKind = keyof typeof SCHEMA_FILES;

/** The TypeScript type each event kind decodes to and encodes from. */
export interface EventTypes {
  observation: Observation;
  features: FeatureVector;
  prediction: Prediction;
  labeled: LabeledExample;
  driftAlert: DriftAlert;
  modelEvent: ModelEvent;
  command: Command;
  subscription: Subscription;
  openMeteoRaw: OpenMeteoRawAnswer;
  openMeteoState: OpenMeteoIngestionState;
}

export type EventCodec = Codec<EventTypes>;

/** The topic each event kind is written to; the DLQ carries raw bytes and has no schema. */
export const TOPIC_OF_KIND: Readonly<Record<EventKind, Exclude<keyof Topics, 'observationsDlq'>>> = {
  observation: 'observations',
  features: 'features',
  prediction: 'predictions',
  labeled: 'labeled',
  driftAlert: 'driftAlerts',
  modelEvent: 'modelEvents',
  command: 'commands',
  subscription: 'subscriptions',
  openMeteoRaw: 'openMeteoRaw',
  openMeteoState: 'openMeteoState',
};

export const EVENT_KINDS = Object.keys(SCHEMA_FILES) as EventKind[];

/** Each kind's schema file and its subject, `<topic>-value`, for this deployment's topics. */
export function eventCatalogue(topics: Topics): Record<EventKind, CatalogueEntry> {
  const catalogue = {} as Record<EventKind, CatalogueEntry>;
  for (const kind of EVENT_KINDS) {
    catalogue[kind] = { file: SCHEMA_FILES[kind], subject: valueSubject(topics[TOPIC_OF_KIND[kind]]) };
  }
  return catalogue;
}

/**
 * Registers every event schema for this deployment's topics and returns a codec bound to them.
 * Idempotent: run by setup and again by each process at start (same ids).
 */
export function registerEvents(
  registry: SchemaRegistry,
  topics: Topics,
  schemasDir = SCHEMAS_DIR,
): Promise<EventCodec> {
  return registerCatalogue<EventTypes>(registry, eventCatalogue(topics), schemasDir);
}
