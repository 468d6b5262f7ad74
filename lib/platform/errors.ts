/**
 * One error type for the whole pipeline. `code` says what went wrong in a way a caller can branch on;
 * `retriable` says whether trying the same thing again can succeed (a broker that is briefly away) or
 * cannot (a record that does not decode, a bug). The retry helper and the consumer shell only look at
 * `retriable`, so a poison record is never retried forever.
 */
export const ERROR_CODES = [
  'VALIDATION',
  'DECODE',
  'ENCODE',
  'SCHEMA_INCOMPATIBLE',
  'SCHEMA_INVALID',
  'SCHEMA_NOT_FOUND',
  'REGISTRY_UNAVAILABLE',
  'KAFKA',
  'TOPIC_MISMATCH',
  'MESSAGE_TOO_LARGE',
  'CLICKHOUSE',
  'CLICKHOUSE_QUERY',
  'MIGRATION',
  'MIGRATION_CHECKSUM',
  'REDIS',
  'TIMEOUT',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_REJECTED',
  'RATE_LIMITED',
  'RETRIES_EXHAUSTED',
  'CONSUMER_CRASHED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Whether an error of this code is worth retrying when the thrower does not say. */
const RETRIABLE_BY_DEFAULT: Readonly<Record<ErrorCode, boolean>> = {
  VALIDATION: false,
  DECODE: false,
  ENCODE: false,
  SCHEMA_INCOMPATIBLE: false,
  SCHEMA_INVALID: false,
  SCHEMA_NOT_FOUND: false,
  REGISTRY_UNAVAILABLE: true,
  KAFKA: true,
  TOPIC_MISMATCH: false,
  MESSAGE_TOO_LARGE: false,
  CLICKHOUSE: true,
  CLICKHOUSE_QUERY: false,
  MIGRATION: false,
  MIGRATION_CHECKSUM: false,
  REDIS: true,
  TIMEOUT: true,
  // An external HTTP API (Open-Meteo): down or 5xx / refused the request as asked / told us to slow down.
  UPSTREAM_UNAVAILABLE: true,
  UPSTREAM_REJECTED: false,
  RATE_LIMITED: true,
  RETRIES_EXHAUSTED: false,
  CONSUMER_CRASHED: false,
  INTERNAL: false,
};

export interface RainstreamErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  /** Structured facts for logs and DLQ headers (field name, topic, offset...). Never secrets. */
  details?: Readonly<Record<string, unknown>>;
}

export class RainstreamError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: RainstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RainstreamError';
    this.code = code;
    this.retriable = options.retriable ?? RETRIABLE_BY_DEFAULT[code];
    this.details = options.details ?? {};
  }
}

export function isRainstreamError(error: unknown, code?: ErrorCode): error is RainstreamError {
  return error instanceof RainstreamError && (code === undefined || error.code === code);
}

/** Errors of the language itself: a bug in our code, which no retry can fix. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/**
 * Whether trying again can help. Our errors say so; other libraries' errors that carry a boolean
 * `retriable` (kafkajs) are trusted; programming errors never are; anything else (sockets reset,
 * timeouts) is presumed transient, since the attempts are bounded anyway.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof RainstreamError) return error.retriable;
  if (PROGRAMMING_ERRORS.some((type) => error instanceof type)) return false;
  if (typeof error === 'object' && error !== null && 'retriable' in error) {
    const flag = (error as { retriable: unknown }).retriable;
    if (typeof flag === 'boolean') return flag;
  }
  return error instanceof Error;
}

/** A short single-line reason, for logs and DLQ headers. */
export function describeError(error: unknown): string {
  if (error instanceof RainstreamError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
