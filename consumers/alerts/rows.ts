/** ClickHouse rows of the alerts stage: delivery attempts, and the subscriptions view (no secret). */
import type { Subscription } from '../../lib/domain/events.ts';
import {
  deliveryRow,
  type DeliveryAttempt,
  type SubscriptionRowInput,
} from '../../lib/platform/clickhouse/queries/alerts.ts';

export function deliveryRows(attempts: readonly DeliveryAttempt[]) {
  return attempts.map(deliveryRow);
}

/** The view row of a subscription record, or of a tombstone (only the id is known then). */
export function subscriptionViewOf(id: string, value: Subscription | null, at: number): SubscriptionRowInput {
  if (value === null) {
    return {
      id,
      kind: '',
      location: null,
      threshold: null,
      url: '',
      description: '',
      createdBy: '',
      createdAt: at,
      deleted: true,
    };
  }
  return {
    id: value.id,
    kind: value.kind,
    location: value.location,
    threshold: value.threshold,
    url: value.url,
    description: value.description,
    createdBy: value.createdBy,
    createdAt: value.createdAt,
    deleted: false,
  };
}
