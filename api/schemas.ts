/**
 * The API's request and response shapes, written once in zod. `jsonSchemaOf` turns each into the JSON
 * Schema that Fastify validates requests with (ajv) and serializes responses with (fast-json-stringify),
 * and `/openapi.json` publishes the very same objects: the documentation cannot drift from what is enforced.
 */
import { z } from 'zod';
import { SCORE_GROUPINGS } from '../lib/platform/clickhouse/queries/quality.ts';
import type { LatestForecast } from '../lib/domain/state-keys.ts';
import { COMPASS_POINTS, NUMERIC_FIELDS, type NumericField } from '../lib/domain/weather/observation.ts';

/** Same rule as the CSV edge (lib/weather/csv.ts): a station name never holds ':' or glob characters. */
export const LOCATION_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export const locationSchema = z
  .string()
  .regex(LOCATION_PATTERN)
  .describe("a station name: a letter, then letters, digits, '_' or '-', at most 64 characters")
  .meta({ examples: ['Sydney'] });

export const calendarDateSchema = z.iso.date().describe('a calendar date YYYY-MM-DD');

// ---- requests ----

export const predictQuerySchema = z.object({ location: locationSchema });
export type PredictQuery = z.infer<typeof predictQuerySchema>;

type NumericShape = { [K in NumericField]: z.ZodOptional<z.ZodNullable<z.ZodNumber>> };
const numericShape = Object.fromEntries(
  Object.entries(NUMERIC_FIELDS).map(([field, range]) => [
    field,
    z
      .number()
      .min(range.min)
      .max(range.max)
      .nullable()
      .optional()
      .describe(`${range.column}, ${range.min} to ${range.max}; null or absent when not observed`),
  ]),
) as unknown as NumericShape;

const compassSchema = z.enum(COMPASS_POINTS).nullable().optional().describe('a 16-point compass direction');

/**
 * An observation as `POST /predict` takes it: the fields of `Observation`, measurements optional (absent =
 * null = not observed), `source` optional. Unknown fields are refused rather than ignored, so a misspelt
 * `humidity3PM` is reported instead of silently becoming a missing reading.
 */
export const observationBodySchema = z
  .object({
    location: locationSchema,
    date: calendarDateSchema,
    ...numericShape,
    windGustDir: compassSchema,
    windDir9am: compassSchema,
    windDir3pm: compassSchema,
    rainToday: z.boolean().nullable().optional().describe('rainfall > 1 mm on this day'),
    source: z.string().min(1).max(64).optional().describe("where the observation comes from; default 'api'"),
  })
  .strict();
export type ObservationBody = z.infer<typeof observationBodySchema>;

export const prequentialQuerySchema = z.object({
  grouping: z.enum(SCORE_GROUPINGS).default('overall'),
  from: calendarDateSchema.optional().describe('first prediction date, inclusive'),
  to: calendarDateSchema.optional().describe('last prediction date, inclusive'),
  location: locationSchema.optional(),
  model: z.string().min(1).max(128).optional().describe('only predictions of this model version'),
});
export type PrequentialQuery = z.infer<typeof prequentialQuerySchema>;

export const modelsQuerySchema = z.object({
  // A string on the wire: the API's ajv does not coerce types (so a body's "55" is not taken for 55).
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/)
    .optional()
    .describe('how many models, newest first: 1 to 999, default 50'),
});
export type ModelsQuery = z.infer<typeof modelsQuerySchema>;

// ---- responses ----

export const errorSchema = z.object({
  error: z.string(),
  field: z.string().optional(),
  reason: z.string().optional(),
  issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
  location: z.string().optional(),
  knownStation: z.boolean().optional(),
});
export type ErrorBody = z.infer<typeof errorSchema>;

export const latestForecastSchema = z.object({
  location: z.string(),
  date: z.string().describe('day of the observation the forecast was made from'),
  forecastFor: z.string().describe('the day the forecast is about (date + 1)'),
  probability: z.number(),
  decision: z.boolean(),
  threshold: z.number(),
  modelVersion: z.string(),
  featureSetVersion: z.string(),
  predictedAt: z.number().describe('epoch milliseconds'),
});

type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Compile-time proof that the documented shape is the one the predictor writes.
const _latestForecastMatches: Equal<z.infer<typeof latestForecastSchema>, LatestForecast> = true;

export const predictionResultSchema = z.object({
  location: z.string(),
  date: z.string(),
  forecastFor: z.string(),
  probability: z.number(),
  decision: z.boolean(),
  threshold: z.number(),
  modelVersion: z.string(),
  featureSetVersion: z.string(),
  historyDays: z.number().int().describe('observed days among the 7 before `date` the features could use'),
});
export type PredictionResult = z.infer<typeof predictionResultSchema>;

export const locationsSchema = z.object({
  featureSetVersion: z.string(),
  locations: z.array(
    z.object({
      location: z.string(),
      forecastDate: z.string().nullable().describe('date of the observation behind the latest forecast'),
      forecastFor: z.string().nullable(),
      lastObservationDate: z.string().nullable().describe('latest day in the station history'),
    }),
  ),
});
export type LocationsBody = z.infer<typeof locationsSchema>;

export const healthSchema = z.object({ status: z.literal('ok'), uptimeS: z.number() });

export const DEPENDENCIES = ['redis', 'clickhouse'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];
export const readySchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  down: z.array(z.enum(DEPENDENCIES)),
  checks: z.object({ redis: z.string(), clickhouse: z.string() }),
});
export type ReadyBody = z.infer<typeof readySchema>;

export const modelListingSchema = z.object({
  version: z.string(),
  family: z.string(),
  status: z.string(),
  trainStart: z.string(),
  trainEnd: z.string(),
  rows: z.number(),
  metrics: z.record(z.string(), z.unknown()),
  trainedAt: z.string(),
  trainSeconds: z.number(),
  aliases: z.array(z.string()).describe('aliases pointing at this version now'),
});
export const modelsSchema = z.object({ models: z.array(modelListingSchema) });
export type ModelsBody = z.infer<typeof modelsSchema>;

export const modelSummarySchema = z.object({
  version: z.string(),
  family: z.string(),
  task: z.string(),
  params: z.string().describe('JSON text'),
  metrics: z.string().describe('JSON text'),
  featureSetVersion: z.string(),
  trainStart: z.string(),
  trainEnd: z.string(),
  rows: z.number(),
  positives: z.number(),
  codeVersion: z.string(),
  status: z.string(),
  trainedAt: z.string(),
  trainSeconds: z.number(),
  peakRssMb: z.number(),
});

export const championSchema = z.object({
  source: z
    .enum(['registry', 'prior'])
    .describe("'prior': no champion was ever promoted, the prior climatology baseline is serving"),
  version: z.string().nullable().describe('version the champion alias points at'),
  reason: z.string(),
  changedAt: z.string().nullable(),
  previousVersion: z.string().nullable(),
  model: modelSummarySchema.nullable(),
  serving: z
    .object({
      version: z.string(),
      family: z.string(),
      featureSetVersion: z.string(),
      trainedUntil: z.string().nullable(),
    })
    .describe('the champion this API process predicts with right now'),
});
export type ChampionBody = z.infer<typeof championSchema>;

export const prequentialSchema = z.object({
  grouping: z.enum(SCORE_GROUPINGS),
  from: z.string().nullable(),
  to: z.string().nullable(),
  scores: z.array(
    z.object({
      bucket: z.string(),
      n: z.number(),
      positives: z.number(),
      brier: z.number(),
      accuracy: z.number(),
      meanProbability: z.number(),
      auc: z.number().nullable().describe('null when the bucket holds one class only'),
    }),
  ),
});
export type PrequentialBody = z.infer<typeof prequentialSchema>;

// ---- zod -> JSON Schema ----

export type JsonSchema = { [key: string]: unknown };

/**
 * JSON Schema (draft-07, which ajv and fast-json-stringify read and OpenAPI 3.1 accepts) of a zod schema.
 * Requests use the input side (optional defaults), responses the output side.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'throw' }) as JsonSchema;
  delete json.$schema;
  return collapseNullable(json) as JsonSchema;
}

/**
 * Rewrites zod's `anyOf: [{ type: T, ...rules }, { type: 'null' }]` as `{ type: [T, 'null'], ...rules }`.
 * Same meaning, but ajv then reports one error per field ("must be <= 100") instead of one per branch
 * plus "must match a schema in anyOf".
 */
export function collapseNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(collapseNullable);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) out[key] = collapseNullable(value);
  const anyOf = out.anyOf;
  if (Array.isArray(anyOf) && anyOf.length === 2) {
    const nullAt = anyOf.findIndex((s) => isNullSchema(s));
    const other = anyOf[1 - nullAt] as JsonSchema | undefined;
    if (nullAt >= 0 && other && typeof other.type === 'string') {
      const { anyOf: _dropped, ...rest } = out;
      const merged: JsonSchema = { ...rest, ...other, type: [other.type, 'null'] };
      if (Array.isArray(other.enum)) merged.enum = [...other.enum, null];
      return merged;
    }
  }
  return out;
}

function isNullSchema(s: unknown): boolean {
  return (
    typeof s === 'object' && s !== null && (s as JsonSchema).type === 'null' && Object.keys(s).length === 1
  );
}
