/**
 * What an HTTP answer of Open-Meteo means for the caller, as a typed error: the API's own error body
 * (`{"error": true, "reason": "..."}`, HTTP 400: the request is wrong, retrying cannot help), HTTP 429
 * (too many calls: retriable, after Retry-After when the server says), 5xx and 408 (retriable), other
 * 4xx (not). The reason is carried, bounded, so logs and metrics can say what the API said.
 */
import { RainstreamError } from '../../lib/platform/errors.ts';
import { apiErrorReason, boundReason } from './response.ts';

/**
 * Retry-After as milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
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
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter, now);
    return new RainstreamError('RATE_LIMITED', `Open-Meteo rate limit (HTTP 429): ${reason}`, {
      details: { ...details, retryAfterMs },
    });
  }
  if (status >= 500 || status === 408) {
    return new RainstreamError('UPSTREAM_UNAVAILABLE', `Open-Meteo HTTP ${status}: ${reason}`, { details });
  }
  return new RainstreamError(
    'UPSTREAM_REJECTED',
    `Open-Meteo refused the request (HTTP ${status}): ${reason}`,
    { details },
  );
}
