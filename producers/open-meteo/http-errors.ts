/**
 * What an HTTP answer of Open-Meteo means for the caller, as a typed error: the API's own error body
 * (`{"error": true, "reason": "..."}`, HTTP 400: the request is wrong, retrying cannot help), HTTP 429
 * (too many calls: retriable, after Retry-After when the server says), 5xx and 408 (retriable; a 503
 * after Retry-After too, when the server says), other 4xx (not). The reason is carried, bounded, so logs
 * and metrics can say what the API said.
 */
import { RainstreamError } from '../../lib/platform/errors.ts';
import { apiErrorReason, boundReason } from './response.ts';

/**
 * The longest Retry-After taken at its word: the free tier's longest window. No limit of Open-Meteo
 * needs a longer wait, and the limiter holds every later call for it, so an absurd value (years, or
 * digits past a double's range) would stall the daily scheduler for good.
 */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Retry-After as milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3), at most
 * MAX_RETRY_AFTER_MS. Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else if (!/[A-Za-z]/.test(text)) return undefined;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

function reasonOf(body: string): { reason: string; apiError: boolean } {
  try {
    const reason = apiErrorReason(JSON.parse(body));
    if (reason !== undefined) return { reason, apiError: true };
  } catch {
    // Not JSON: a proxy's page or a truncated body; quote its start.
  }
  const text = body.replace(/\s+/g, ' ').trim();
  return { reason: boundReason(text === '' ? '(empty body)' : text.slice(0, 200)), apiError: false };
}

export interface HttpAnswer {
  status: number;
  body: string;
  retryAfter?: string | null;
}

/**
 * The error an answer stands for, or undefined for a 2xx whose body is not an error body (whether it
 * has the expected layout is the mapping's business: a raw answer is kept either way).
 */
export function errorOfAnswer(answer: HttpAnswer, url: string, now: number): RainstreamError | undefined {
  const { status, body } = answer;
  const ok = status >= 200 && status < 300;
  const { reason, apiError } = reasonOf(body);
  if (ok && !apiError) return undefined;
  const details = { status, reason, apiError, url };
  // RFC 9110 §10.2.3: the statuses whose Retry-After says when to call again; on any other it means nothing.
  const wait = () => ({
    retryAfterMs: parseRetryAfter(answer.retryAfter, now),
    retryAfter: answer.retryAfter ?? null,
  });
  if (status === 429) {
    return new RainstreamError('RATE_LIMITED', `Open-Meteo rate limit (HTTP 429): ${reason}`, {
      details: { ...details, ...wait() },
    });
  }
  if (status >= 500 || status === 408) {
    return new RainstreamError('UPSTREAM_UNAVAILABLE', `Open-Meteo HTTP ${status}: ${reason}`, {
      details: status === 503 ? { ...details, ...wait() } : details,
    });
  }
  return new RainstreamError(
    'UPSTREAM_REJECTED',
    `Open-Meteo refused the request (HTTP ${status}): ${reason}`,
    { details },
  );
}

/**
 * The wait the server asked for before the next call (a 429's or a 503's Retry-After, as errorOfAnswer
 * read it), or undefined when it said nothing.
 */
export function retryAfterMsOf(error: unknown): number | undefined {
  if (!(error instanceof RainstreamError)) return undefined;
  if (error.code !== 'RATE_LIMITED' && error.code !== 'UPSTREAM_UNAVAILABLE') return undefined;
  const ms = error.details.retryAfterMs;
  return typeof ms === 'number' ? ms : undefined;
}
