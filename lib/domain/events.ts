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
  /** The task predicted (schemas/prediction.avsc: default rain, the task of events written before tasks). */
  task: string;
  location: string;
  date: string;
  /** Rain: the probability of rain on date+1. A regression task: 0 (unused; `value` holds the forecast). */
  probability: number;
  /** A regression task's forecast for date+1 (°C for max_temp); null for rain. */
  value: number | null;
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
  /** The task labeled (default rain). */
  task: string;
  location: string;
  date: string;
  featureSetVersion: string;
  values: number[];
  /** Rain's label; false for a regression task, whose label is `target`. */
  label: boolean;
  /** A regression task's label (the next day's MaxTemp for max_temp); null for rain. */
  target: number | null;
  /** A regression task's served forecast; null for rain (whose forecast is `probability`). */
  value: number | null;
  rainfallNext: number | null;
  probability: number;
  modelVersion: string;
}

/**
 * What a drift incident is about: a station's field stopped reporting (`missing`), moved away from its
 * neighbours (`shift`) or repeats one value (`stuck`); pooled over stations a feature moved or went
 * missing; the predicted probabilities moved (`prediction`); the model is less accurate than it believes
 * (`performance`). `feature` is the kind of alerts written before incidents existed.
 */
export type DriftKind = 'missing' | 'shift' | 'stuck' | 'prediction' | 'performance' | 'feature';

/** One event per incident opening and one per resolution (schemas/drift-alert.avsc). */
export interface DriftAlert {
  /** The task whose champion the incident is about (default rain). */
  task: string;
  /** Event-time week (Monday) of the opening or resolution. */
  week: string;
  modelVersion: string;
  kind: DriftKind;
  /** The feature (or field) the incident is about. */
  name: string;
  statistic: string;
  value: number;
  threshold: number;
  event: 'opened' | 'resolved';
  /** The station, or '*' for a pooled incident. */
  station: string;
  /** Deterministic: kind:station:feature:openedWeek, the same for a re-delivered event. */
  incidentId: string;
  openedWeek: string;
  /** Share of the model's importance behind the feature, and its rank among watched features. */
  importance: number;
  rank: number;
  weeksBreached: number;
}

/** A partition's weekly partial sums (schemas/drift-partial.avsc): the drift stage's internal topic. */
export interface DriftPartialEvent {
  /** The task whose events the partial sums (default rain). */
  task: string;
  source: string;
  partition: number;
  week: string;
  watermark: string;
  stations: { location: string; modelVersion: string; rows: number; values: number[] }[];
  late: number;
  duplicates: number;
}

export interface ModelEvent {
  /** `champion`/`challenger` (rain), `<task>.champion`/`<task>.challenger` for another task. */
  alias: string;
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
  /** The task to retrain (lib/models/tasks.ts; default rain). */
  task: string;
  /** Recorded as the reason of the training run. */
  reason: string;
  requestedBy: string;
  at: number;
  /** Set when drift asked: the incident behind the request (null from an operator). */
  week: string | null;
  modelVersion: string | null;
  incidentId: string | null;
  station: string | null;
  feature: string | null;
  driftKind: string | null;
}

/** A command from an operator: the incident fields stay null. */
export function operatorCommand(
  c: Pick<Command, 'id' | 'kind' | 'reason' | 'requestedBy' | 'at'> & { task?: string },
): Command {
  return {
    ...c,
    task: c.task ?? 'rain',
    week: null,
    modelVersion: null,
    incidentId: null,
    station: null,
    feature: null,
    driftKind: null,
  };
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
  driftPartial: 'drift-partial.avsc',
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
  driftPartial: DriftPartialEvent;
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
  driftPartial: 'driftPartials',
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
