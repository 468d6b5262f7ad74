/**
 * The API's request and response shapes, written once in zod. Fastify validates requests with them
 * (api/validation.ts), serializes responses with them (fastify-type-provider-zod), and @fastify/swagger
 * publishes the very same objects at /openapi.json and /docs: the documentation cannot drift from what is
 * enforced. Query values arrive as strings: numbers in a query are parsed here, with the reason worded
 * for the caller.
 */
import { z } from 'zod';
import { SCORE_GROUPINGS } from '../lib/platform/clickhouse/queries/quality.ts';
import { QUALITY_GROUPINGS } from '../lib/platform/clickhouse/queries/quality-report.ts';
import type { LatestForecast, LatestValueForecast } from '../lib/domain/state-keys.ts';
import { TASK_NAMES } from '../lib/platform/config.ts';
import { MAX_ISSUES } from './validation.ts';

/** Same rule as the CSV edge (lib/domain/weather/csv.ts): a station name never holds ':' or glob characters. */
export const LOCATION_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export const locationSchema = z
  .string()
  .regex(LOCATION_PATTERN, {
    error: "must be a station name: a letter, then letters, digits, '_' or '-', at most 64 characters",
  })
  .describe("a station name: a letter, then letters, digits, '_' or '-', at most 64 characters")
  .meta({ examples: ['Sydney'] });

export const calendarDateSchema = z.iso
  .date({
    error: (issue) => (issue.code === 'invalid_format' ? 'must be a calendar date YYYY-MM-DD' : undefined),
  })
  .describe('a calendar date YYYY-MM-DD');

/** A probability in a query string: "0.7" → 0.7, refused outside [0, 1] or when not a plain number. */
export const probabilityParam = z
  .string()
  .regex(/^(0|1|0?\.\d+|0\.|1\.0*)$/, { error: 'must be a number from 0 to 1' })
  .transform(Number)
  .describe('a probability from 0 to 1, e.g. 0.7');

function integerParam(min: number, max: number, what: string) {
  return z
    .string()
    .regex(/^\d{1,9}$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .describe(what);
}

/** The version of a model in the registry, as a path or query parameter. */
export const versionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, {
    error: "must be a model version: letters, digits, '.', '_', ':' or '-', at most 128 characters",
  })
  .describe('a model version');

/** A prediction task (lib/models/tasks.ts): rain by default. */
export const taskSchema = z
  .enum(TASK_NAMES)
  .default('rain')
  .describe(`the prediction task: ${TASK_NAMES.join(' or ')}; default rain`);

// ---- requests ----

export const predictQuerySchema = z.strictObject({
  location: locationSchema,
  task: taskSchema,
  threshold: probabilityParam
    .optional()
    .describe(
      'task rain only: decision threshold from 0 to 1; default: the predictor threshold the forecast was made with',
    ),
});
export type PredictQuery = z.infer<typeof predictQuerySchema>;

export const postPredictQuerySchema = z.strictObject({
  task: taskSchema,
  threshold: probabilityParam
    .optional()
    .describe('task rain only: decision threshold from 0 to 1; default: the configured one'),
});

export const prequentialQuerySchema = z.strictObject({
  grouping: z.enum(SCORE_GROUPINGS).default('overall'),
  from: calendarDateSchema.optional().describe('first prediction date, inclusive'),
  to: calendarDateSchema.optional().describe('last prediction date, inclusive'),
  location: locationSchema.optional(),
  model: versionSchema.optional().describe('only predictions of this model version'),
});
export type PrequentialQuery = z.infer<typeof prequentialQuerySchema>;

export const qualityQuerySchema = z.strictObject({
  task: taskSchema,
  groupBy: z.enum(QUALITY_GROUPINGS).default('overall'),
  from: calendarDateSchema.optional().describe('first prediction date, inclusive'),
  to: calendarDateSchema.optional().describe('last prediction date, inclusive'),
  location: locationSchema.optional().describe('only this station'),
  model: versionSchema.optional().describe('only predictions of this model version'),
  threshold: probabilityParam
    .optional()
    .describe('task rain only: threshold of the confusion counts; default: the configured one'),
});
export type QualityQuery = z.infer<typeof qualityQuerySchema>;

export const predictionsQuerySchema = z.strictObject({
  location: locationSchema,
  from: calendarDateSchema.optional().describe('first day, inclusive; default: 89 days before `to`'),
  to: calendarDateSchema.optional().describe("last day, inclusive; default: the station's latest forecast"),
});
export type PredictionsQuery = z.infer<typeof predictionsQuerySchema>;

export const driftQuerySchema = z.strictObject({
  task: taskSchema,
  from: calendarDateSchema.optional().describe('first week (Monday), inclusive'),
  to: calendarDateSchema.optional().describe('last week (Monday), inclusive'),
});
export type DriftQuery = z.infer<typeof driftQuerySchema>;

export const modelsQuerySchema = z.strictObject({
  limit: integerParam(1, 999, 'how many models, newest first: 1 to 999, default 50').optional(),
  task: z.enum(TASK_NAMES).optional().describe('only the models of this task; default: every task'),
});

export const championQuerySchema = z.strictObject({ task: taskSchema });
export type ModelsQuery = z.infer<typeof modelsQuerySchema>;

export const versionParamsSchema = z.strictObject({ version: versionSchema });

// ---- responses ----

export const errorSchema = z.object({
  error: z.string(),
  field: z.string().optional(),
  reason: z.string().optional(),
  issues: z
    .array(z.object({ field: z.string(), reason: z.string() }))
    .optional()
    .describe(
      `a 400: each field at fault and why, the first also as field and reason; at most ${MAX_ISSUES}`,
    ),
  issuesLeftOut: z
    .number()
    .int()
    .optional()
    .describe('a 400 with more issues than listed: how many more were left out'),
  location: z.string().optional(),
  knownStation: z.boolean().optional(),
});
export type ErrorBody = z.infer<typeof errorSchema>;

export const latestForecastSchema = z.object({
  location: z.string(),
  date: z.string().describe('day of the observation the forecast was made from'),
  forecastFor: z.string().describe('the day the forecast is about (date + 1)'),
  probability: z.number(),
  decision: z.boolean().describe('probability >= threshold'),
  threshold: z.number(),
  modelVersion: z.string(),
  featureSetVersion: z.string(),
  predictedAt: z.number().describe('epoch milliseconds'),
});

/** A regression task's latest forecast (GET /predict?task=max_temp). */
export const latestValueForecastSchema = z.object({
  task: z.string(),
  location: z.string(),
  date: z.string().describe('day of the observation the forecast was made from'),
  forecastFor: z.string().describe('the day the forecast is about (date + 1)'),
  value: z.number().describe('the forecast: the maximum temperature of forecastFor for max_temp'),
  unit: z.string(),
  modelVersion: z.string(),
  featureSetVersion: z.string(),
  predictedAt: z.number().describe('epoch milliseconds'),
});

type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Compile-time proof that the documented shape is the one the predictor writes.
const _latestForecastMatches: Equal<z.infer<typeof latestForecastSchema>, LatestForecast> = true;
const _latestValueForecastMatches: Equal<
  z.infer<typeof latestValueForecastSchema>,
  LatestValueForecast
> = true;

export const predictionResultSchema = z.object({
  task: z.literal('rain'),
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

/** POST /predict of a regression task: the forecast value and its unit instead of a probability. */
export const valuePredictionResultSchema = z.object({
  task: z.enum(TASK_NAMES),
  location: z.string(),
  date: z.string(),
  forecastFor: z.string(),
  value: z.number().describe('the forecast: the maximum temperature of forecastFor for max_temp'),
  unit: z.string(),
  modelVersion: z.string(),
  featureSetVersion: z.string(),
  historyDays: z.number().int().describe('observed days among the 7 before `date` the features could use'),
});
export type ValuePredictionResult = z.infer<typeof valuePredictionResultSchema>;

export const predictionsSchema = z.object({
  location: z.string(),
  from: z.string(),
  to: z.string(),
  points: z.array(
    z.object({
      date: z.string().describe('day of the observation the forecast was made from'),
      probability: z.number(),
      decision: z.boolean(),
      threshold: z.number(),
      modelVersion: z.string(),
      outcome: z.enum(['joined', 'missing']).nullable().describe('null while the next day is pending'),
      rainTomorrow: z.boolean().nullable().describe('rain (> 1 mm) on date + 1, once joined'),
      rainfallTomorrowMm: z.number().nullable(),
    }),
  ),
});
export type PredictionsBody = z.infer<typeof predictionsSchema>;

const nullableScore = z.number().nullable();

export const qualitySchema = z.object({
  groupBy: z.enum(QUALITY_GROUPINGS),
  from: z.string().nullable(),
  to: z.string().nullable(),
  threshold: z.number(),
  rows: z.array(
    z.object({
      bucket: z.string(),
      n: z.number(),
      positives: z.number(),
      accuracy: nullableScore,
      precision: nullableScore.describe('null when nothing was forecast as rain'),
      recall: nullableScore,
      f1: nullableScore,
      rocAuc: nullableScore.describe('null when the bucket holds one class only'),
      prAuc: nullableScore,
      brier: z.number(),
      meanProbability: z.number(),
      confusion: z.object({ tp: z.number(), fp: z.number(), fn: z.number(), tn: z.number() }),
      calibration: z.array(
        z.object({
          bin: z.number(),
          from: z.number(),
          to: z.number(),
          n: z.number(),
          meanProbability: z.number(),
          observed: z.number().describe('share of rain days among the bin'),
        }),
      ),
    }),
  ),
});
export type QualityBody = z.infer<typeof qualitySchema>;

/** A regression task's quality (GET /quality?task=max_temp). */
export const regressionQualitySchema = z.object({
  task: z.string(),
  groupBy: z.enum(QUALITY_GROUPINGS),
  from: z.string().nullable(),
  to: z.string().nullable(),
  unit: z.string(),
  rows: z.array(
    z.object({
      bucket: z.string(),
      n: z.number(),
      r2: nullableScore.describe("null when the bucket's actual values do not vary"),
      rmse: z.number(),
      mae: z.number(),
      meanActual: z.number(),
      meanPredicted: z.number(),
    }),
  ),
});
export type RegressionQualityBody = z.infer<typeof regressionQualitySchema>;

export const driftSchema = z.object({
  task: z.enum(TASK_NAMES),
  from: z.string().nullable(),
  to: z.string().nullable(),
  incidents: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      name: z.string(),
      statistic: z.string(),
      openedWeek: z.string(),
      lastWeek: z.string(),
      weeks: z.number(),
      maxValue: z.number(),
      lastValue: z.number(),
      threshold: z.number(),
      modelVersion: z.string(),
      open: z.boolean(),
    }),
  ),
  weeks: z.array(
    z.object({
      week: z.string(),
      modelVersion: z.string(),
      kind: z.string(),
      name: z.string(),
      statistic: z.string(),
      value: z.number(),
      threshold: z.number(),
      alert: z.boolean(),
      n: z.number(),
    }),
  ),
  performance: z
    .array(
      z.object({
        week: z.string(),
        modelVersion: z.string(),
        n: z.number(),
        nLabeled: z.number(),
        estimatedAccuracy: z.number().nullable(),
        realizedAccuracy: z.number().nullable(),
        estimatedBrier: z.number().nullable(),
        realizedBrier: z.number().nullable(),
        ece: z.number().nullable(),
        referenceAccuracy: z.number().nullable(),
        realizedRmse: z.number().nullable(),
        realizedMae: z.number().nullable(),
        referenceRmse: z.number().nullable(),
      }),
    )
    .describe(
      'pooled weekly performance per model version: rain estimated before labels beside realized; a regression task realized RMSE and MAE only (no estimate without class probabilities)',
    ),
});
export type DriftBody = z.infer<typeof driftSchema>;

export const locationsSchema = z.object({
  featureSetVersion: z.string(),
  locations: z.array(
    z.object({
      location: z.string(),
      forecastDate: z.string().nullable().describe('date of the observation behind the latest forecast'),
      forecastFor: z.string().nullable(),
      threshold: z.number().nullable().describe('decision threshold the latest forecast was made with'),
      lastObservationDate: z.string().nullable().describe('latest day in the station history'),
    }),
  ),
});
export type LocationsBody = z.infer<typeof locationsSchema>;

export const healthSchema = z.object({ status: z.literal('ok'), uptimeS: z.number() });

export const DEPENDENCIES = ['redis', 'clickhouse', 'kafka', 'schemaRegistry'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];
export const readySchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  down: z.array(z.enum(DEPENDENCIES)),
  checks: z.object({
    redis: z.string(),
    clickhouse: z.string(),
    kafka: z.string(),
    schemaRegistry: z.string(),
  }),
});
export type ReadyBody = z.infer<typeof readySchema>;

const aliasRowSchema = z.object({
  alias: z.string(),
  version: z.string(),
  previousVersion: z.string(),
  reason: z.string(),
  changedAt: z.string(),
});

export const modelListingSchema = z.object({
  version: z.string(),
  task: z.string().describe('the task the model predicts (lib/models/tasks.ts)'),
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
export const modelsSchema = z.object({
  models: z.array(modelListingSchema),
  history: z
    .object({ champion: z.array(aliasRowSchema), challenger: z.array(aliasRowSchema) })
    .describe('alias changes, newest first'),
});
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

export const modelDetailSchema = z.object({
  model: modelSummarySchema,
  aliases: z.array(z.string()).describe('aliases pointing at this version now'),
  history: z.array(aliasRowSchema).describe('alias changes to or from this version, newest first'),
});
export type ModelDetailBody = z.infer<typeof modelDetailSchema>;

export const championSchema = z.object({
  source: z
    .enum(['registry', 'prior'])
    .describe("'prior': no champion was ever promoted, the prior climatology baseline is serving"),
  version: z.string().nullable().describe('version the champion alias points at'),
  reason: z.string(),
  changedAt: z.string().nullable(),
  previousVersion: z.string().nullable(),
  model: modelSummarySchema.nullable(),
  task: z.string(),
  alias: z.string().describe("the task's champion alias in the registry"),
  serving: z
    .object({
      version: z.string(),
      family: z.string(),
      featureSetVersion: z.string(),
      trainedUntil: z.string().nullable(),
    })
    .nullable()
    .describe(
      "the champion this API process predicts with right now (POST /predict: rain's); null for another task, whose forecasts the pipeline serves",
    ),
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

export const pipelineSchema = z.object({
  checkedAt: z.number().describe('epoch ms'),
  stages: z.array(
    z.object({
      stage: z.string(),
      groupId: z.string(),
      lag: z.number().nullable().describe('records behind the end of its input topics; null when unknown'),
      partitions: z.array(
        z.object({
          topic: z.string(),
          partition: z.number(),
          committed: z.number(),
          end: z.number(),
          lag: z.number(),
        }),
      ),
    }),
  ),
  topics: z.array(
    z.object({
      topic: z.string(),
      records: z.number().describe('end offsets summed over partitions'),
      perSecond: z
        .number()
        .nullable()
        .describe('records appended per second over the last minute; null until measured'),
    }),
  ),
  dlq: z.object({
    total: z.number(),
    reasons: z.array(z.object({ reason: z.string(), field: z.string(), count: z.number() })),
  }),
});
export type PipelineBody = z.infer<typeof pipelineSchema>;

// ---- admin ----

/** A control character but tab and line feed, or an unpaired surrogate (UTF-8 has none: it would be stored as U+FFFD). */
const NOT_TEXT = /(?![\t\n])\p{Cc}|\p{Cs}/u;

/** Free text an operator writes (reasons, descriptions), stored in Kafka and ClickHouse as it is. */
function textSchema(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((text) => !NOT_TEXT.test(text), {
      error: 'must be text: no control characters but tab and line feed, no unpaired surrogates',
    });
}

export const bearerSecurity = [{ adminToken: [] as string[] }];

export const promoteBodySchema = z.strictObject({
  task: taskSchema,
  alias: z
    .enum(['champion', 'challenger'])
    .default('champion')
    .describe("the task's champion or challenger alias (max_temp's are max_temp.champion, ...)"),
  reason: textSchema(1, 500).default('promoted by an operator'),
});
export const rollbackBodySchema = z.strictObject({
  task: taskSchema,
  reason: textSchema(1, 500).default('rolled back by an operator'),
});
export const aliasChangeSchema = z.object({
  task: z.enum(TASK_NAMES),
  alias: z.string().describe('the registry alias moved: champion, challenger, max_temp.champion, ...'),
  version: z.string(),
  previousVersion: z.string().nullable(),
  reason: z.string(),
  at: z.number(),
});

export const retrainBodySchema = z.strictObject({
  task: taskSchema,
  reason: textSchema(1, 500),
  requestedBy: textSchema(1, 128).default('admin-api'),
});
export const commandSchema = z.object({
  id: z.string(),
  kind: z.literal('retrain'),
  task: z.string(),
  reason: z.string(),
  requestedBy: z.string(),
  at: z.number(),
  topic: z.string(),
});

export const subscriptionBodySchema = z.strictObject({
  kind: z.enum(['forecast', 'champion', 'drift']),
  location: locationSchema.optional().describe('forecast: the station'),
  threshold: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('forecast: alert when the probability crosses it upwards'),
  url: z.string().max(2048).describe('webhook URL (http or https), its host on WEBHOOK_ALLOWED_HOSTS'),
  secret: textSchema(16, 256)
    .optional()
    .describe('HMAC-SHA256 key of the signature header; generated (and returned once) when absent'),
  description: textSchema(0, 500).default(''),
});
export type SubscriptionBody = z.infer<typeof subscriptionBodySchema>;
/** Who creates a subscription (stored as its creator); the other headers pass as they are. */
export const subscriptionHeadersSchema = z.looseObject({
  'x-requested-by': z
    .string()
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/, {
      error: 'must be 1 to 128 printable ASCII characters',
    })
    .optional()
    .describe("who asks, stored as the subscription's creator; default admin-api"),
});

export const subscriptionViewSchema = z.object({
  id: z.string(),
  kind: z.string(),
  location: z.string().nullable(),
  threshold: z.number().nullable(),
  url: z.string(),
  description: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export const subscriptionsSchema = z.object({ subscriptions: z.array(subscriptionViewSchema) });
export const createdSubscriptionSchema = subscriptionViewSchema.extend({
  secret: z.string().describe('shown once: the key receivers verify signatures with'),
});
export const subscriptionParamsSchema = z.strictObject({
  id: z.string().regex(/^[a-f0-9-]{8,64}$/, { error: 'must be a subscription id' }),
});
export const deliveriesQuerySchema = z.strictObject({
  subscription: z
    .string()
    .regex(/^[a-f0-9-]{8,64}$/, { error: 'must be a subscription id' })
    .optional(),
  limit: integerParam(1, 1000, 'how many attempts, newest first: 1 to 1000, default 100').optional(),
});
export const deliveriesSchema = z.object({
  deliveries: z.array(
    z.object({
      deliveryId: z.string().describe('the idempotency key the receiver got'),
      subscriptionId: z.string(),
      kind: z.string(),
      event: z.string(),
      host: z.string(),
      attempt: z.number(),
      status: z.enum(['delivered', 'retrying', 'failed', 'refused']),
      httpStatus: z.number(),
      error: z.string(),
      durationMs: z.number(),
      at: z.string(),
    }),
  ),
});
