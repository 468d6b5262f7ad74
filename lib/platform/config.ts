import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TypedError, type TypedErrorOptions } from './errors.ts';

/**
 * The one place that reads the environment. Defaults point at the local stack started by `npm run stack up`
 * (ports chosen away from the usual ones so a developer's own Kafka or ClickHouse does not collide);
 * docker-compose sets the same variables to its service names.
 */
const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** The weatherAUS data set shipped in the repository (data/README.md), whatever the working folder. */
export const DEFAULT_DATA_FILE = fileURLToPath(new URL('../../data/weatherAUS.csv.gz', import.meta.url));

/** The live stations Open-Meteo is asked about (data/live-stations.json), whatever the working folder. */
export const DEFAULT_LIVE_STATIONS_FILE = fileURLToPath(
  new URL('../../data/live-stations.json', import.meta.url),
);

/**
 * The dates ClickHouse 18.16's `Date` can hold (days since 1970-01-01 in a UInt16): checked on the server,
 * 1970-01-01 reads back as `0000-00-00` (day 0 is its "no date") and anything before it or after
 * 2105-12-31 is written as `0000-00-00`, so two days would collapse into one row. Weekly analytics key
 * rows by their Monday, and the first Monday after day 0 is 1970-01-05. An event-time range must lie
 * inside this one; current ClickHouse (1970-01-01..2149-06-06) holds all of it too.
 */
export const STORABLE_DATES = { min: '1970-01-05', max: '2105-12-31' } as const;

const storableDate = z.iso
  .date()
  .refine(
    (d) => d >= STORABLE_DATES.min && d <= STORABLE_DATES.max,
    `a date ClickHouse can store: ${STORABLE_DATES.min} to ${STORABLE_DATES.max}`,
  );

/** The prediction tasks this code declares (lib/models/tasks.ts); TASKS picks which ones run. */
export const TASK_NAMES = ['rain', 'max_temp'] as const;

export type TaskName = (typeof TASK_NAMES)[number];

/** The model families RETRAIN_FAMILIES switches on or off (lib/models/tasks.ts says which task has which). */
export const RETRAIN_FAMILY_NAMES = ['climatology', 'logreg', 'gbdt', 'forest'] as const;

export function isSwitchableFamily(family: string): boolean {
  return (RETRAIN_FAMILY_NAMES as readonly string[]).includes(family);
}

export const configSchema = z.object({
  KAFKA_BROKERS: csv.default(['127.0.0.1:19092']),
  KAFKA_CLIENT_ID: z.string().default('rainstream'),
  /**
   * Which client implements lib/platform/kafka: kafkajs (the default: it passes the whole suite, and the
   * other is no faster here, see the README) or @platformatic/kafka (maintained; kafkajs has had no release
   * since 2023).
   */
  KAFKA_CLIENT: z.enum(['kafkajs', 'platformatic']).default('kafkajs'),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:18081/apis/ccompat/v7'),
  CLICKHOUSE_URL: z.url().default('http://127.0.0.1:18123'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and underscores only')
    .default('rainstream'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().default('rs'),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('rainstream'),
  TOPIC_PARTITIONS: z.coerce.number().int().min(1).default(6),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Append the JSON log lines to this file instead of writing them to stdout.
  LOG_FILE: z.string().min(1).optional(),
  DECISION_THRESHOLD: z.coerce.number().gt(0).lt(1).default(0.5),
  LABEL_GRACE_DAYS: z.coerce.number().int().min(1).default(3),
  DRIFT_GRACE_DAYS: z.coerce.number().int().min(0).max(14).default(2),
  DRIFT_RESOLVE_AFTER_WEEKS: z.coerce.number().int().min(1).default(2),
  DRIFT_COOLDOWN_WEEKS: z.coerce.number().int().min(0).default(8),
  DRIFT_RETRAIN: bool.default(false),
  DRIFT_RETRAIN_MAX_RANK: z.coerce.number().int().min(1).default(5),
  DRIFT_RETRAIN_STATION_LEVEL: bool.default(false),
  DRIFT_RETRAIN_COOLDOWN_WEEKS: z.coerce.number().int().min(0).default(4),
  // How long a stage's fetch waits for data to pile up: larger batches mean fewer transactions (throughput),
  // a short wait means each record moves on at once (latency: a gated replay waits on every hop, weekly).
  STAGE_FETCH_MIN_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(256 * 1024),
  // 50 ms: under a backlog the bytes are there at once and the wait never runs; at a steady trickle each hop
  // would otherwise sit out the whole wait (bench:pipeline's paced run, 1,000 events/s: p50 775 -> 536 ms).
  STAGE_FETCH_MAX_WAIT_MS: z.coerce.number().int().min(1).max(60_000).default(50),
  RETRAIN_ENABLED: bool.default(true),
  RETRAIN_MIN_ROWS: z.coerce.number().int().min(1).default(2000),
  // The families that compete each week, in every task that declares them (max_temp's ridge always
  // competes: it is that task's baseline). The forest is opt-in: a replay from 2007 to January 2013 trained
  // 213 rain and 214 max_temp forests and promoted none, and its artifact is the largest (312 kB a week
  // against the GBDT's 95 kB).
  RETRAIN_FAMILIES: csv
    .pipe(z.array(z.enum(RETRAIN_FAMILY_NAMES)))
    .default(['climatology', 'logreg', 'gbdt']),
  // Weeks between the scheduled full refits (warm starts in between), and whether they train beside the
  // stream on a second worker (the weekly run stays warm) or inside the run that is due.
  RETRAIN_REFIT_EVERY_WEEKS: z.coerce.number().int().min(1).max(520).default(13),
  RETRAIN_REFIT_BESIDE: bool.default(true),
  // Nice value of the refit-beside worker (0: the process' own priority).
  RETRAIN_REFIT_NICENESS: z.coerce.number().int().min(0).max(19).default(19),
  // The tasks predicted, labeled and trained (lib/models/tasks.ts); rain is always one of them.
  TASKS: csv
    .pipe(z.array(z.enum(TASK_NAMES)))
    .refine((names) => names.includes('rain'), 'must include rain')
    .refine((names) => new Set(names).size === names.length, 'must not repeat a task')
    .default(['rain', 'max_temp']),
  DATA_FILE: z.string().default(DEFAULT_DATA_FILE),
  // Event time (lib/domain/weather/validation.ts): the calendar days an observation may carry, and how
  // many days past today (UTC) a station's local day may run ahead of the clock.
  EVENT_TIME_MIN: storableDate.default(STORABLE_DATES.min),
  EVENT_TIME_MAX: storableDate.default(STORABLE_DATES.max),
  EVENT_TIME_HORIZON_DAYS: z.coerce.number().int().min(1).max(366).default(2),
  // Open-Meteo ingestion (producers/open-meteo): the two endpoints are configuration so tests and a
  // self-hosted Open-Meteo can stand in for the public API.
  OPEN_METEO_ARCHIVE_URL: z.url().default('https://archive-api.open-meteo.com/v1/archive'),
  OPEN_METEO_FORECAST_URL: z.url().default('https://api.open-meteo.com/v1/forecast'),
  OPEN_METEO_STATIONS_FILE: z.string().default(DEFAULT_LIVE_STATIONS_FILE),
  OPEN_METEO_DAILY_AT: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour station local time')
    .default('06:00'),
  OPEN_METEO_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
  // The face (api/, consumers/alerts/): admin token, limits, webhook policy, metrics endpoint.
  // Unset or empty: the admin routes answer 503 (disabled). Never logged (the logger redacts it).
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s === '' ? undefined : s))
    .pipe(z.string().min(16, 'at least 16 characters').optional()),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6000),
  ADMIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Hosts webhooks may be sent to: names (`hooks.example.com`, `*.example.com`), IPs or CIDRs. */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim().toLowerCase())
        .filter(Boolean),
    ),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(500),
  /** Where a pipeline process serves /metrics; 0 = any free port (logged). */
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config {
  /** client: absent means kafkajs. */
  kafka: { brokers: string[]; clientId: string; client?: 'kafkajs' | 'platformatic' };
  registry: { url: string };
  clickhouse: { url: string; database: string; username: string; password: string };
  redis: { url: string; prefix: string };
  topics: Topics;
  topicPartitions: number;
  /** Consumer groups are `<groupPrefix>.<stage>`: the topic prefix, so a deployment's groups sort together. */
  groupPrefix: string;
  api: {
    host: string;
    port: number;
    /** Bearer token of the admin routes; undefined = admin disabled. */
    adminToken: string | undefined;
    rateLimitPerMinute: number;
    adminRateLimitPerMinute: number;
  };
  alerts: AlertsConfig;
  metrics: { host: string; port: number };
  logLevel: RawConfig['LOG_LEVEL'];
  /** Where log lines go (appended, directories created); stdout when absent. */
  logFile?: string;
  pipeline: {
    decisionThreshold: number;
    labelGraceDays: number;
    drift: DriftConfig;
    /** What a stage's fetch waits for: `minBytes`, or `maxWaitMs` when less has arrived. */
    fetch: { minBytes: number; maxWaitMs: number };
    retrainEnabled: boolean;
    retrainMinRows: number;
    /** Families that compete at each weekly retraining. */
    retrainFamilies: string[];
    /** Weeks between scheduled full refits. */
    retrainRefitEveryWeeks: number;
    /** Scheduled full refits train on a second worker beside the stream instead of in the weekly run. */
    retrainRefitBeside: boolean;
    /**
     * Nice value (0..19) of the refit-beside worker's thread: seconds of full refit take the cores only
     * when the stages leave them idle, so the weekly runs the stream waits on do not slow down.
     */
    retrainRefitNiceness: number;
    /** The tasks predicted, labeled and trained, rain first. */
    tasks: TaskName[];
  };
  dataFile: string;
  openMeteo: OpenMeteoConfig;
  eventTime: EventTimeConfig;
}

export interface EventTimeConfig {
  /** First and last calendar day an event may carry, `YYYY-MM-DD`, inside STORABLE_DATES. */
  min: string;
  max: string;
  /** An event's day may be at most this many days after today (UTC) by the clock of whoever checks it. */
  horizonDays: number;
}

export interface DriftConfig {
  /** Days after a week's Sunday before a partition closes the week. */
  graceDays: number;
  /** Judged weeks without a breach that resolve an incident. */
  resolveAfterWeeks: number;
  /** Weeks after a resolution during which a new incident of the same key needs two breaching weeks. */
  cooldownWeeks: number;
  /** An incident on an important feature asks the trainer for a full refit (the commands topic). */
  retrain: { enabled: boolean; maxRank: number; stationLevel: boolean; cooldownWeeks: number };
}

export interface OpenMeteoConfig {
  archiveUrl: string;
  forecastUrl: string;
  /** JSON file of the live stations (producers/open-meteo/stations.ts). */
  stationsFile: string;
  /** Local time of each station at which the daily ingestion fetches yesterday, `HH:MM`. */
  dailyAt: string;
  /** Per HTTP attempt, headers and body. */
  timeoutMs: number;
}

export interface AlertsConfig {
  /** Webhook hosts allowed (names, `*.suffix`, IPs, CIDRs); empty = no webhook may be subscribed. */
  allowedHosts: string[];
  /** Per delivery attempt, connect to end of response. */
  timeoutMs: number;
  maxAttempts: number;
  /** First retry delay; doubled per attempt, with full jitter. */
  backoffMs: number;
}

export interface Topics {
  observations: string;
  observationsDlq: string;
  features: string;
  predictions: string;
  labeled: string;
  driftAlerts: string;
  modelEvents: string;
  /** Internal to the drift stage: each partition's weekly partial sums, read by its week closer. */
  driftPartials: string;
  /** Commands to the trainer (retrain now), from an operator or the drift stage. */
  commands: string;
  /** Alert subscriptions, compacted by id: the durable store the alerts stage and the API read. */
  subscriptions: string;
  /** Open-Meteo answers as received, before mapping (producers/open-meteo). */
  openMeteoRaw: string;
  /** Compacted: per live station, the days the Open-Meteo ingestion has put on the observations topic. */
  openMeteoState: string;
}

export function topicNames(prefix: string): Topics {
  return {
    observations: `${prefix}.observations.v1`,
    observationsDlq: `${prefix}.observations.dlq`,
    features: `${prefix}.features.v1`,
    predictions: `${prefix}.predictions.v1`,
    labeled: `${prefix}.labeled.v1`,
    driftAlerts: `${prefix}.drift-alerts.v1`,
    modelEvents: `${prefix}.model-events.v1`,
    driftPartials: `${prefix}.drift-partials.v1`,
    commands: `${prefix}.commands.v1`,
    subscriptions: `${prefix}.subscriptions.v1`,
    openMeteoRaw: `${prefix}.open-meteo.raw.v1`,
    openMeteoState: `${prefix}.open-meteo.state.v1`,
  };
}

export class ConfigError extends TypedError<'CONFIG'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('CONFIG', message, options);
  }
}

/** Parses the environment once; every invalid variable is named with its reason. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${reasons}`);
  }
  const c = parsed.data;
  if (c.EVENT_TIME_MIN > c.EVENT_TIME_MAX) {
    throw new ConfigError(
      `invalid configuration: EVENT_TIME_MIN ${c.EVENT_TIME_MIN} is after EVENT_TIME_MAX ${c.EVENT_TIME_MAX}`,
    );
  }
  return {
    kafka: { brokers: c.KAFKA_BROKERS, clientId: c.KAFKA_CLIENT_ID, client: c.KAFKA_CLIENT },
    registry: { url: c.SCHEMA_REGISTRY_URL },
    clickhouse: {
      url: c.CLICKHOUSE_URL,
      database: c.CLICKHOUSE_DATABASE,
      username: c.CLICKHOUSE_USER,
      password: c.CLICKHOUSE_PASSWORD,
    },
    redis: { url: c.REDIS_URL, prefix: c.REDIS_PREFIX },
    topics: topicNames(c.TOPIC_PREFIX),
    topicPartitions: c.TOPIC_PARTITIONS,
    groupPrefix: c.TOPIC_PREFIX,
    api: {
      host: c.API_HOST,
      port: c.API_PORT,
      adminToken: c.ADMIN_TOKEN,
      rateLimitPerMinute: c.RATE_LIMIT_PER_MINUTE,
      adminRateLimitPerMinute: c.ADMIN_RATE_LIMIT_PER_MINUTE,
    },
    alerts: {
      allowedHosts: c.WEBHOOK_ALLOWED_HOSTS,
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      maxAttempts: c.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: c.WEBHOOK_BACKOFF_MS,
    },
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
    ...(c.LOG_FILE !== undefined && { logFile: c.LOG_FILE }),
    pipeline: {
      decisionThreshold: c.DECISION_THRESHOLD,
      labelGraceDays: c.LABEL_GRACE_DAYS,
      drift: {
        graceDays: c.DRIFT_GRACE_DAYS,
        resolveAfterWeeks: c.DRIFT_RESOLVE_AFTER_WEEKS,
        cooldownWeeks: c.DRIFT_COOLDOWN_WEEKS,
        retrain: {
          enabled: c.DRIFT_RETRAIN,
          maxRank: c.DRIFT_RETRAIN_MAX_RANK,
          stationLevel: c.DRIFT_RETRAIN_STATION_LEVEL,
          cooldownWeeks: c.DRIFT_RETRAIN_COOLDOWN_WEEKS,
        },
      },
      fetch: { minBytes: c.STAGE_FETCH_MIN_BYTES, maxWaitMs: c.STAGE_FETCH_MAX_WAIT_MS },
      retrainEnabled: c.RETRAIN_ENABLED,
      retrainMinRows: c.RETRAIN_MIN_ROWS,
      retrainFamilies: c.RETRAIN_FAMILIES,
      retrainRefitEveryWeeks: c.RETRAIN_REFIT_EVERY_WEEKS,
      retrainRefitBeside: c.RETRAIN_REFIT_BESIDE,
      retrainRefitNiceness: c.RETRAIN_REFIT_NICENESS,
      tasks: ['rain', ...c.TASKS.filter((t) => t !== 'rain')],
    },
    dataFile: c.DATA_FILE,
    openMeteo: {
      archiveUrl: c.OPEN_METEO_ARCHIVE_URL,
      forecastUrl: c.OPEN_METEO_FORECAST_URL,
      stationsFile: c.OPEN_METEO_STATIONS_FILE,
      dailyAt: c.OPEN_METEO_DAILY_AT,
      timeoutMs: c.OPEN_METEO_TIMEOUT_MS,
    },
    eventTime: { min: c.EVENT_TIME_MIN, max: c.EVENT_TIME_MAX, horizonDays: c.EVENT_TIME_HORIZON_DAYS },
  };
}
