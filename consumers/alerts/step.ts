/**
 * The alerts stage's pure step: which subscriptions an event concerns, and what each is told.
 *
 * - forecast: a station's new forecast crosses a subscription's threshold upwards (the previous forecast
 *   of the station was below it, or there was none, and this one is at or above it). A forecast for a
 *   date not after the last one seen is a re-delivery or out of order: it changes nothing and alerts no one.
 * - champion: the champion alias moved.
 * - drift: a drift incident opened or resolved.
 * A subscription hears only of events appended to the log after it was created (record timestamp), so a
 * new subscription is not flooded with history.
 */
import type { DriftAlert, ModelEvent, Prediction, Subscription } from '../../lib/domain/events.ts';
import { addDays } from '../../lib/domain/time.ts';
import { deliveryIdOf } from './webhook.ts';

/** The last forecast seen of a station (kept in Redis per station). */
export interface LastForecast {
  date: string;
  probability: number;
}

export type AlertPayload =
  | {
      type: 'forecast.threshold_crossed';
      subscriptionId: string;
      location: string;
      date: string;
      forecastFor: string;
      probability: number;
      previousProbability: number | null;
      threshold: number;
      modelVersion: string;
      predictedAt: number;
    }
  | {
      type: 'champion.changed';
      subscriptionId: string;
      version: string;
      previousVersion: string | null;
      family: string;
      reason: string;
      at: number;
    }
  | {
      /** A drift incident opened or resolved (consumers/drift: one event each). */
      type: 'drift.incident.opened' | 'drift.incident.resolved';
      subscriptionId: string;
      /** The task whose champion the incident is about (rain, max_temp, ...). */
      task: string;
      incidentId: string;
      week: string;
      openedWeek: string;
      /** The station, or '*' for a pooled incident. */
      station: string;
      kind: string;
      name: string;
      statistic: string;
      value: number;
      threshold: number;
      modelVersion: string;
    };

export interface PlannedDelivery {
  /** The idempotency key: stable across attempts and re-processing. */
  deliveryId: string;
  subscription: Subscription;
  /** A short description of the event, for the delivery log. */
  event: string;
  payload: AlertPayload;
}

function heardOf(subscription: Subscription, recordTimestamp: number): boolean {
  return recordTimestamp >= subscription.createdAt;
}

export function forecastAlerts(
  prediction: Prediction,
  last: LastForecast | null,
  subscriptions: readonly Subscription[],
  recordTimestamp: number,
): { deliveries: PlannedDelivery[]; last: LastForecast | null } {
  if (last !== null && prediction.date <= last.date) return { deliveries: [], last };
  const previous = last?.probability ?? null;
  const deliveries: PlannedDelivery[] = [];
  for (const s of subscriptions) {
    if (s.kind !== 'forecast' || s.location !== prediction.location || s.threshold === null) continue;
    if (!heardOf(s, recordTimestamp)) continue;
    const crossed = (previous === null || previous < s.threshold) && prediction.probability >= s.threshold;
    if (!crossed) continue;
    const eventKey = `forecast:${prediction.location}:${prediction.date}`;
    deliveries.push({
      deliveryId: deliveryIdOf(s.id, eventKey),
      subscription: s,
      event: `${prediction.location} ${prediction.date} p=${prediction.probability.toFixed(3)}`,
      payload: {
        type: 'forecast.threshold_crossed',
        subscriptionId: s.id,
        location: prediction.location,
        date: prediction.date,
        forecastFor: addDays(prediction.date, 1),
        probability: prediction.probability,
        previousProbability: previous,
        threshold: s.threshold,
        modelVersion: prediction.modelVersion,
        predictedAt: prediction.predictedAt,
      },
    });
  }
  return { deliveries, last: { date: prediction.date, probability: prediction.probability } };
}

export function championAlerts(
  event: ModelEvent,
  subscriptions: readonly Subscription[],
  recordTimestamp: number,
): PlannedDelivery[] {
  if (event.alias !== 'champion') return [];
  return subscriptions
    .filter((s) => s.kind === 'champion' && heardOf(s, recordTimestamp))
    .map((s) => ({
      deliveryId: deliveryIdOf(s.id, `champion:${event.version}:${event.at}`),
      subscription: s,
      event: `champion ${event.previousVersion ?? '(none)'} -> ${event.version}`,
      payload: {
        type: 'champion.changed',
        subscriptionId: s.id,
        version: event.version,
        previousVersion: event.previousVersion,
        family: event.family,
        reason: event.reason,
        at: event.at,
      },
    }));
}

export function driftAlerts(
  alert: DriftAlert,
  subscriptions: readonly Subscription[],
  recordTimestamp: number,
): PlannedDelivery[] {
  return subscriptions
    .filter((s) => s.kind === 'drift' && heardOf(s, recordTimestamp))
    .map((s) => ({
      // One delivery per incident opening and per resolution: the incident id is deterministic, so a
      // re-delivered alert keeps its idempotency key.
      deliveryId: deliveryIdOf(s.id, `drift:${alert.incidentId}:${alert.event}`),
      subscription: s,
      event: `drift ${alert.task === 'rain' ? '' : `${alert.task} `}${alert.event} ${alert.week} ${alert.station}/${alert.name} (${alert.kind}) ${alert.statistic}=${alert.value.toFixed(3)}`,
      payload: {
        type: `drift.incident.${alert.event}`,
        subscriptionId: s.id,
        task: alert.task,
        incidentId: alert.incidentId,
        week: alert.week,
        openedWeek: alert.openedWeek,
        station: alert.station,
        kind: alert.kind,
        name: alert.name,
        statistic: alert.statistic,
        value: alert.value,
        threshold: alert.threshold,
        modelVersion: alert.modelVersion,
      },
    }));
}

/** The subscription store as the stage keeps it: the compacted topic applied record by record. */
export function applySubscriptionRecord(
  store: Map<string, Subscription>,
  key: string,
  value: Subscription | null,
): void {
  if (value === null) store.delete(key);
  else store.set(key, value);
}
