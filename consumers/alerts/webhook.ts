/**
 * What a webhook delivery carries and how it is retried, as pure functions: the signature a receiver
 * verifies, the idempotency key a receiver de-duplicates on, and the backoff between attempts.
 *
 * Signature (header `x-rainstream-signature`): `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * Signing the timestamp with the body lets a receiver refuse replays of an old delivery; comparing with
 * `verifySignature` is constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_HEADERS = {
  signature: 'x-rainstream-signature',
  idempotencyKey: 'idempotency-key',
  event: 'x-rainstream-event',
  attempt: 'x-rainstream-attempt',
} as const;

export function signatureOf(secret: string, timestampS: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
  return `t=${timestampS},v1=${mac}`;
}

/**
 * Checks a signature header against the body, in constant time, and that its timestamp is within
 * `toleranceS` of `nowS`. What a receiver runs (and what the tests' receiver runs).
 */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const t = Number(match[1]);
  if (Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(signatureOf(secret, t, body).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}

/**
 * The idempotency key of what a subscription is told about one event: the same for every attempt and for
 * every re-processing of the event after a crash, different for another subscription or event.
 */
export function deliveryIdOf(subscriptionId: string, eventKey: string): string {
  return createHash('sha256')
    .update(JSON.stringify([subscriptionId, eventKey]))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Delay before attempt `attempt` (2, 3, ...): exponential from `baseMs`, capped at `maxMs`, with "equal"
 * jitter (uniform in [cap/2, cap)): spread, so receivers coming back from an outage are not hit by every
 * sender at once, yet never a retry on the heels of a failure.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 2));
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/** Whether an HTTP status is worth another attempt: server errors, timeouts, rate limits. */
export function retriableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
