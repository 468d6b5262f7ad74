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
  'TRANSACTION',
  'FENCED',
  'REBALANCE',
  'STOPPING',
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
  // A Kafka transaction that failed or whose outcome is unknown: abort, find out, and try again.
  TRANSACTION: true,
  // Another instance took over this partition's transactional id: this one must let the batch go.
  FENCED: false,
  // The group is rebalancing: the batch in hand is abandoned uncommitted, the new owner redoes it.
  REBALANCE: false,
  // The process is shutting down: work in hand is abandoned uncommitted.
  STOPPING: false,
  INTERNAL: false,
};

export interface RainstreamErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  /** Structured facts for logs and DLQ headers (field name, topic, offset...). Never secrets. */
  details?: Readonly<Record<string, unknown>>;
}

export interface TypedErrorOptions {
  /** Defaults to false: an error nobody said is transient is a bug or bad input. */
  retriable?: boolean;
  cause?: unknown;
}

/**
 * The root of every error the project throws: a `code` a caller can branch on and whether a retry can
 * help. The platform's failures (RainstreamError below) share a closed list of codes; each module's own
 * errors (a model format, a feature state, a promotion) name theirs, and are not retriable unless they say.
 */
export class TypedError<C extends string = string> extends Error {
  readonly code: C;
  readonly retriable: boolean;

  constructor(code: C, message: string, options: TypedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export class RainstreamError extends TypedError<ErrorCode> {
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: RainstreamErrorOptions = {}) {
    super(code, message, { ...options, retriable: options.retriable ?? RETRIABLE_BY_DEFAULT[code] });
    this.details = options.details ?? {};
  }
}

export function isRainstreamError(error: unknown, code?: ErrorCode): error is RainstreamError {
  return error instanceof RainstreamError && (code === undefined || error.code === code);
}

/** Errors of the language itself: a bug in our code, which no retry can fix. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/**
 * Socket-level failures as Node reports them (`error.code`): the peer is away or dropped us, which says
 * nothing about the request itself. EPIPE and ECONNRESET are also what a reused keep-alive socket that
 * the server had already closed gives.
 */
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function isTransportError(error: unknown): boolean {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSPORT_CODES.has(code)) return true;
    if (e instanceof Error && /socket hang up|Connection is closed/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Whether trying again can help. Our errors say so; other libraries' errors that carry a boolean
 * `retriable` (kafkajs) are trusted, except that kafkajs's "retries exceeded" is as retriable as the
 * failure under it (a broker that stayed away longer than kafkajs waited comes back later); socket-level
 * failures are. Everything else is not: an error nobody typed is a bug or bad data until proven
 * otherwise, and retrying it only turns one bad record into a stalled partition.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof TypedError) return error.retriable;
  if (PROGRAMMING_ERRORS.some((type) => error instanceof type)) return false;
  if (typeof error === 'object' && error !== null) {
    // kafkajs wraps what its own retrier gave up on: "retries exceeded" (a broker away longer than it
    // waited) and, in some code paths, "non-retriable" around a connection error. Either is as retriable
    // as the failure under it: a broker that comes back later.
    const name = (error as { name?: unknown }).name;
    if (name === 'KafkaJSNumberOfRetriesExceeded' || name === 'KafkaJSNonRetriableError') {
      const cause = (error as { cause?: unknown }).cause;
      if (cause === undefined || cause === error) return name === 'KafkaJSNumberOfRetriesExceeded';
      return isRetriable(cause) || isTransportError(cause);
    }
    if ('retriable' in error) {
      const flag = (error as { retriable: unknown }).retriable;
      if (typeof flag === 'boolean') return flag;
    }
  }
  return isTransportError(error);
}

/** The error and its causes, outermost first (bounded: a cycle of causes must not hang a log line). */
export function causeChain(error: unknown): object[] {
  const chain: object[] = [];
  for (
    let e = error;
    typeof e === 'object' && e !== null && chain.length < 16 && !chain.includes(e);
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e);
  }
  return chain;
}

/** A short single-line reason, for logs and DLQ headers: the code first when the error has one. */
export function describeError(error: unknown): string {
  if (error instanceof RainstreamError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && code !== ''
      ? `${code}: ${error.message}`
      : `${error.name}: ${error.message}`;
  }
  return String(error);
}
