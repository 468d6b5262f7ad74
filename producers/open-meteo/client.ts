/**
 * One Open-Meteo call, as a good citizen of the free tier: the limiter admits it (by its weight), each
 * attempt has a timeout, transient failures (timeouts, network, 5xx, 429) are retried with exponential
 * backoff and jitter (lib/retry.ts), a 429's or 503's Retry-After holds back every later call too, and
 * what went wrong is a typed error carrying the API's reason. The body is returned as received, unparsed.
 */
import { causeChain, describeError, isRetriable, RainstreamError } from '../../lib/platform/errors.ts';
import { BROKER_MAX_MESSAGE_BYTES } from '../../lib/platform/kafka/producer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { abortableSleep, retry, type RetryOptions } from '../../lib/platform/retry.ts';
import type { OpenMeteoCounters } from './counters.ts';
import { errorOfAnswer, retryAfterMsOf } from './http-errors.ts';
import { acquire, type Clock, type SlidingWindowLimiter } from './rate-limiter.ts';
import { buildRequestUrl, requestWeight, type OpenMeteoRequest } from './request.ts';

export interface OpenMeteoClientDeps {
  archiveUrl: string;
  forecastUrl: string;
  /** Per attempt, until the whole body is read. */
  timeoutMs: number;
  limiter: SlidingWindowLimiter;
  counters: OpenMeteoCounters;
  clock: Clock;
  fetch?: typeof globalThis.fetch;
  retry?: Partial<
    Pick<RetryOptions, 'retries' | 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter' | 'random'>
  >;
  /** Largest body accepted (default MAX_BODY_BYTES); a larger one is a non-retriable MESSAGE_TOO_LARGE. */
  maxBodyBytes?: number;
  /** A Retry-After longer than this is not waited out inside the call: the 429 or 503 goes to the caller. */
  maxRetryAfterMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now(), sleep: abortableSleep };

export const DEFAULT_CLIENT_RETRY = {
  retries: 4,
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.5,
} as const;

export const DEFAULT_MAX_RETRY_AFTER_MS = 120_000;

export interface FetchedAnswer {
  url: string;
  status: number;
  contentType: string | null;
  /** The body exactly as received (UTF-8 text). */
  body: string;
  /** ISO instant the answer arrived. */
  fetchedAt: string;
  /** Weight of one attempt. */
  weight: number;
  attempts: number;
}

/**
 * The largest body kept: every answer is one record of the raw topic (with its URL and a few fields),
 * and a record past the broker's limit could never be written. A year's chunk is about 0.5 MB.
 */
export const MAX_BODY_BYTES = BROKER_MAX_MESSAGE_BYTES - 64 * 1024;

/**
 * The body as UTF-8 text (as `Response.text()` decodes it), read no further than `maxBytes`: a larger
 * answer is refused after at most that much, whatever it announces, so a huge or endless body costs
 * neither the memory nor a raw record the broker would refuse. An error answer (not 2xx) is only read
 * for its reason: a long one is cut, and its status still decides whether to retry.
 */
async function readBody(response: Response, maxBytes: number, url: string): Promise<string> {
  const tooLarge = (bytes: string) =>
    new RainstreamError(
      'MESSAGE_TOO_LARGE',
      `Open-Meteo answered ${bytes} bytes, larger than the ${maxBytes} an answer may have (ask for fewer days)`,
      { details: { url, status: response.status, maxBytes } },
    );
  const announced = Number(response.headers.get('content-length'));
  if (response.ok && announced > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(String(announced));
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  // Leaving the loop early (a throw, a break) cancels the stream and closes the connection.
  for await (const chunk of response.body) {
    if (bytes + chunk.byteLength > maxBytes) {
      if (response.ok) throw tooLarge(`more than ${maxBytes}`);
      chunks.push(chunk.subarray(0, maxBytes - bytes));
      bytes = maxBytes;
      break;
    }
    chunks.push(chunk);
    bytes += chunk.byteLength;
  }
  return new TextDecoder().decode(Buffer.concat(chunks, bytes));
}

/** Fetch's own refusal to follow redirects any further (a loop): the URL, not the network, is at fault. */
function isRedirectLoop(error: unknown): boolean {
  return causeChain(error).some((e) => e instanceof Error && /redirect count exceeded/i.test(e.message));
}

export async function fetchOpenMeteo(
  request: OpenMeteoRequest,
  deps: OpenMeteoClientDeps,
): Promise<FetchedAnswer> {
  const { counters, clock, limiter, logger } = deps;
  const fetchImpl = deps.fetch ?? globalThis.fetch;
  const url = buildRequestUrl(request.mode === 'archive' ? deps.archiveUrl : deps.forecastUrl, request).href;
  const weight = requestWeight(request);
  const maxRetryAfterMs = deps.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  let attempts = 0;

  const attempt = async (): Promise<FetchedAnswer> => {
    counters.throttledMs += await acquire(limiter, weight, clock, deps.signal);
    attempts++;
    counters.requests++;
    counters.weight += weight;
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    const signal = deps.signal ? AbortSignal.any([deps.signal, timeout]) : timeout;
    let status: number;
    let body: string;
    let contentType: string | null;
    let retryAfter: string | null;
    try {
      const response = await fetchImpl(url, { signal, headers: { accept: 'application/json' } });
      status = response.status;
      contentType = response.headers.get('content-type');
      retryAfter = response.headers.get('retry-after');
      body = await readBody(response, deps.maxBodyBytes ?? MAX_BODY_BYTES, url);
    } catch (error) {
      if (deps.signal?.aborted) throw deps.signal.reason ?? error;
      if (error instanceof RainstreamError) {
        counters.httpErrors++;
        throw error;
      }
      if (timeout.aborted) {
        counters.timeouts++;
        throw new RainstreamError('TIMEOUT', `Open-Meteo did not answer within ${deps.timeoutMs} ms`, {
          cause: error,
          details: { url },
        });
      }
      if (isRedirectLoop(error)) {
        counters.httpErrors++;
        throw new RainstreamError(
          'UPSTREAM_REJECTED',
          `Open-Meteo redirects in a loop: ${describeError(error)}`,
          {
            cause: error,
            details: { url },
          },
        );
      }
      counters.networkErrors++;
      throw new RainstreamError('UPSTREAM_UNAVAILABLE', `Open-Meteo unreachable: ${describeError(error)}`, {
        cause: error,
        details: { url },
      });
    }
    const error = errorOfAnswer({ status, body, retryAfter }, url, clock.now());
    if (error) {
      if (error.code === 'RATE_LIMITED') counters.rateLimited++;
      else if (error.details.apiError === true) counters.apiErrors++;
      else counters.httpErrors++;
      const retryAfterMs = retryAfterMsOf(error);
      if (retryAfterMs !== undefined) limiter.pauseUntil(clock.now() + retryAfterMs);
      throw error;
    }
    counters.responsesOk++;
    return {
      url,
      status,
      contentType,
      body,
      fetchedAt: new Date(clock.now()).toISOString(),
      weight,
      attempts,
    };
  };

  try {
    return await retry(attempt, {
      ...DEFAULT_CLIENT_RETRY,
      ...deps.retry,
      sleep: clock.sleep,
      signal: deps.signal,
      shouldRetry: (error) => {
        const retryAfterMs = retryAfterMsOf(error);
        return isRetriable(error) && (retryAfterMs === undefined || retryAfterMs <= maxRetryAfterMs);
      },
      onRetry: ({ error, attempt: n, delayMs }) => {
        counters.retries++;
        logger?.warn(
          { url, attempt: n, delayMs, reason: describeError(error) },
          'Open-Meteo call failed, retrying',
        );
      },
    });
  } catch (error) {
    if (!deps.signal?.aborted) {
      counters.failedRequests++;
      logger?.error({ url, attempts, reason: describeError(error) }, 'Open-Meteo call given up');
    }
    throw error;
  }
}
