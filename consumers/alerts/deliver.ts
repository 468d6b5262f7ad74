/**
 * One webhook delivery: POST the payload, signed, with its idempotency key, to an allowed address;
 * retried with backoff and jitter on network errors, timeouts and retriable statuses (5xx, 408, 429), at
 * most `maxAttempts` times. Every attempt is returned as a row of the delivery log. A refused host is
 * not retried: the answer would not change. Redirects are not followed (a 3xx fails the attempt): a
 * receiver must not be able to bounce the request to an address the allow-list refuses.
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { DeliveryAttempt } from '../../lib/platform/clickhouse/queries/alerts.ts';
import {
  AllowListError,
  hostOf,
  resolveAllowed,
  webhookUrlProblem,
  type AllowList,
  type Resolver,
} from './allow-list.ts';
import type { PlannedDelivery } from './step.ts';
import { backoffDelayMs, retriableStatus, signatureOf, WEBHOOK_HEADERS } from './webhook.ts';

export interface DeliveryDeps {
  allowList: AllowList;
  resolve: Resolver;
  timeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs?: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  clock: () => number;
  /** Called between attempts: a long backoff must not make the consumer group think this member died. */
  heartbeat?: () => Promise<void>;
  userAgent?: string;
}

interface AttemptResult {
  status: number;
  error: string;
}

/** Bytes of a receiver's answer that are read (and thrown away) before the socket is released. */
const MAX_RESPONSE_BYTES = 64 * 1024;

function post(
  url: URL,
  pinned: { address: string; family: 4 | 6 },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  // The connection goes to the address that was checked, whatever DNS says by now.
  const lookup: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
  const options: RequestOptions = {
    method: 'POST',
    hostname: hostOf(url),
    port: url.port === '' ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    lookup,
    agent: false,
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(options, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) res.destroy();
      });
      res.on('end', () => finish({ status: res.statusCode ?? 0, error: '' }));
      res.on('close', () => finish({ status: res.statusCode ?? 0, error: '' }));
      res.on('error', () => finish({ status: res.statusCode ?? 0, error: '' }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: 0, error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (error) => finish({ status: 0, error: error.message }));
    req.end(body);
  });
}

export async function deliver(planned: PlannedDelivery, deps: DeliveryDeps): Promise<DeliveryAttempt[]> {
  const { subscription } = planned;
  const attempts: DeliveryAttempt[] = [];
  const record = (
    attempt: number,
    status: DeliveryAttempt['status'],
    httpStatus: number,
    error: string,
    started: number,
  ) =>
    attempts.push({
      deliveryId: planned.deliveryId,
      subscriptionId: subscription.id,
      kind: subscription.kind,
      event: planned.event,
      host: (() => {
        try {
          return hostOf(new URL(subscription.url));
        } catch {
          return '';
        }
      })(),
      attempt,
      status,
      httpStatus,
      error,
      durationMs: deps.clock() - started,
      at: started,
    });

  const started = deps.clock();
  const problem = webhookUrlProblem(deps.allowList, subscription.url);
  if (problem !== null) {
    record(1, 'refused', 0, `url ${problem}`, started);
    return attempts;
  }
  const url = new URL(subscription.url);
  const body = JSON.stringify(planned.payload);
  for (let attempt = 1; attempt <= deps.maxAttempts; attempt++) {
    if (attempt > 1) {
      await deps.heartbeat?.();
      await deps.sleep(backoffDelayMs(attempt, deps.backoffMs, deps.maxBackoffMs ?? 30_000, deps.random));
      await deps.heartbeat?.();
    }
    const at = deps.clock();
    let pinned;
    try {
      pinned = await resolveAllowed(deps.allowList, hostOf(url), deps.resolve);
    } catch (error) {
      if (error instanceof AllowListError) {
        record(attempt, 'refused', 0, error.message, at);
        return attempts;
      }
      // A resolver failure (no DNS answer) may pass: retry like a network error.
      const last = attempt === deps.maxAttempts;
      record(attempt, last ? 'failed' : 'retrying', 0, `resolve: ${(error as Error).message}`, at);
      continue;
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': deps.userAgent ?? 'rainstream-alerts',
      [WEBHOOK_HEADERS.signature]: signatureOf(subscription.secret, Math.floor(at / 1000), body),
      [WEBHOOK_HEADERS.idempotencyKey]: planned.deliveryId,
      [WEBHOOK_HEADERS.event]: planned.payload.type,
      [WEBHOOK_HEADERS.attempt]: String(attempt),
    };
    const result = await post(url, pinned, headers, body, deps.timeoutMs);
    if (result.status >= 200 && result.status < 300) {
      record(attempt, 'delivered', result.status, '', at);
      return attempts;
    }
    const retriable = result.status === 0 || retriableStatus(result.status);
    const last = attempt === deps.maxAttempts || !retriable;
    const error = result.error || `HTTP ${result.status}`;
    record(attempt, last ? 'failed' : 'retrying', result.status, error, at);
    if (!retriable) return attempts;
  }
  return attempts;
}
