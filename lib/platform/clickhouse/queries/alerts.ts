/**
 * Alert subscriptions as listed (a materialization of the compacted subscriptions topic, never holding
 * the secret) and the log of webhook delivery attempts.
 */
import type { ClickHouse, SqlRunner } from '../client.ts';
import { quoteString, toDateTime } from '../sql.ts';

export interface SubscriptionView {
  id: string;
  kind: string;
  location: string | null;
  threshold: number | null;
  url: string;
  description: string;
  createdBy: string;
  createdAt: string;
}

export interface SubscriptionRowInput {
  id: string;
  kind: string;
  location: string | null;
  threshold: number | null;
  url: string;
  description: string;
  createdBy: string;
  /** Epoch ms. */
  createdAt: number;
  deleted: boolean;
}

/** Monotonic within a process so a later write of the same id wins even in the same millisecond. */
let lastVer = 0;
function nextVer(now = Date.now()): number {
  lastVer = Math.max(lastVer + 1, now * 1000);
  return lastVer;
}

export function subscriptionRow(s: SubscriptionRowInput, ver = nextVer()) {
  return {
    id: s.id,
    kind: s.kind,
    location: s.location ?? '',
    threshold: s.threshold,
    url: s.url,
    description: s.description,
    created_by: s.createdBy,
    created_at: toDateTime(s.createdAt),
    deleted: s.deleted ? 1 : 0,
    ver,
  };
}

export async function upsertSubscriptions(
  clickhouse: ClickHouse,
  rows: readonly SubscriptionRowInput[],
): Promise<void> {
  if (rows.length === 0) return;
  await clickhouse.insertRows(
    'alert_subscriptions',
    rows.map((r) => subscriptionRow(r)),
  );
}

export function listSubscriptionsSql(): string {
  return `SELECT id, kind, location, threshold, url, description, created_by, toString(created_at) AS created_at
FROM alert_subscriptions FINAL
WHERE deleted = 0
ORDER BY created_at, id`;
}

export async function listSubscriptions(runner: SqlRunner): Promise<SubscriptionView[]> {
  const rows = await runner.rows<Record<string, string | number | null>>(listSubscriptionsSql());
  return rows.map((r) => ({
    id: String(r.id),
    kind: String(r.kind),
    location: r.location === '' || r.location === null ? null : String(r.location),
    threshold: r.threshold === null ? null : Number(r.threshold),
    url: String(r.url),
    description: String(r.description),
    createdBy: String(r.created_by),
    createdAt: String(r.created_at),
  }));
}

export type DeliveryStatus = 'delivered' | 'retrying' | 'failed' | 'refused';

export interface DeliveryAttempt {
  deliveryId: string;
  subscriptionId: string;
  kind: string;
  event: string;
  host: string;
  attempt: number;
  status: DeliveryStatus;
  httpStatus: number;
  error: string;
  durationMs: number;
  /** Epoch ms. */
  at: number;
}

export function deliveryRow(a: DeliveryAttempt) {
  return {
    delivery_id: a.deliveryId,
    subscription_id: a.subscriptionId,
    kind: a.kind,
    event: a.event,
    host: a.host,
    attempt: a.attempt,
    status: a.status,
    http_status: a.httpStatus,
    error: a.error.slice(0, 1000),
    duration_ms: Math.max(0, Math.round(a.durationMs)),
    at: toDateTime(a.at),
  };
}

export interface DeliveryView extends Omit<DeliveryAttempt, 'at'> {
  at: string;
}

export function deliveriesSql(subscriptionId: string | undefined, limit: number): string {
  const where = subscriptionId === undefined ? '1 = 1' : `subscription_id = ${quoteString(subscriptionId)}`;
  return `SELECT delivery_id, subscription_id, kind, event, host, attempt, status, http_status, error,
  duration_ms, toString(at) AS at
FROM alert_deliveries
WHERE ${where}
ORDER BY at DESC, delivery_id, attempt DESC
LIMIT ${Math.max(1, Math.trunc(limit))}`;
}

export async function listDeliveries(
  runner: SqlRunner,
  subscriptionId: string | undefined,
  limit: number,
): Promise<DeliveryView[]> {
  const rows = await runner.rows<Record<string, string | number>>(deliveriesSql(subscriptionId, limit));
  return rows.map((r) => ({
    deliveryId: String(r.delivery_id),
    subscriptionId: String(r.subscription_id),
    kind: String(r.kind),
    event: String(r.event),
    host: String(r.host),
    attempt: Number(r.attempt),
    status: String(r.status) as DeliveryStatus,
    httpStatus: Number(r.http_status),
    error: String(r.error),
    durationMs: Number(r.duration_ms),
    at: String(r.at),
  }));
}
