import { describe, expect, it } from 'vitest';
import type { ModelEvent, Prediction, Subscription } from '../../../../lib/domain/events.ts';
import {
  applySubscriptionRecord,
  championAlerts,
  driftAlerts,
  forecastAlerts,
} from '../../../../consumers/alerts/step.ts';

const sub = (id: string, over: Partial<Subscription> = {}): Subscription => ({
  id,
  kind: 'forecast',
  location: 'Sydney',
  threshold: 0.6,
  url: 'https://hooks.example.com/x',
  secret: 's',
  description: '',
  createdBy: 'ops',
  createdAt: 1000,
  ...over,
});

const prediction = (date: string, probability: number, location = 'Sydney'): Prediction => ({
  location,
  date,
  probability,
  decision: probability >= 0.5,
  threshold: 0.5,
  modelVersion: 'm-1',
  featureSetVersion: 'fs',
  values: [],
  rainToday: null,
  rainfall: null,
  ingestedAt: 0,
  predictedAt: 5000,
  task: 'rain',
  value: null,
});

describe('forecastAlerts', () => {
  const subs = [sub('low', { threshold: 0.3 }), sub('high'), sub('perth', { location: 'Perth' })];

  it('alerts the subscriptions whose threshold the new forecast crosses upwards', () => {
    const r = forecastAlerts(
      prediction('2017-01-02', 0.65),
      { date: '2017-01-01', probability: 0.4 },
      subs,
      2000,
    );
    expect(r.deliveries.map((d) => d.subscription.id)).toEqual(['high']);
    expect(r.deliveries[0]!.payload).toMatchObject({
      type: 'forecast.threshold_crossed',
      probability: 0.65,
      previousProbability: 0.4,
      threshold: 0.6,
      forecastFor: '2017-01-03',
    });
    expect(r.last).toEqual({ date: '2017-01-02', probability: 0.65 });
  });

  it('counts a first forecast at or above the threshold as a crossing, exactly at the threshold too', () => {
    const r = forecastAlerts(prediction('2017-01-02', 0.6), null, subs, 2000);
    expect(r.deliveries.map((d) => d.subscription.id)).toEqual(['low', 'high']);
  });

  it('stays silent while above, and for a falling forecast', () => {
    expect(
      forecastAlerts(prediction('2017-01-02', 0.9), { date: '2017-01-01', probability: 0.7 }, subs, 2000)
        .deliveries,
    ).toEqual([]);
    expect(
      forecastAlerts(prediction('2017-01-02', 0.1), { date: '2017-01-01', probability: 0.7 }, subs, 2000)
        .deliveries,
    ).toEqual([]);
  });

  it('ignores a re-delivered or older forecast, state unchanged', () => {
    const last = { date: '2017-01-05', probability: 0.1 };
    const r = forecastAlerts(prediction('2017-01-05', 0.9), last, subs, 2000);
    expect(r).toEqual({ deliveries: [], last });
  });

  it('tells a subscription only of records appended after it was created', () => {
    expect(forecastAlerts(prediction('2017-01-02', 0.9), null, subs, 999).deliveries).toEqual([]);
  });

  it('gives the same idempotency key for the same forecast, another for another day', () => {
    const a = forecastAlerts(prediction('2017-01-02', 0.9), null, [sub('high')], 2000).deliveries[0]!;
    const b = forecastAlerts(prediction('2017-01-02', 0.95), null, [sub('high')], 2000).deliveries[0]!;
    const c = forecastAlerts(prediction('2017-01-03', 0.9), null, [sub('high')], 2000).deliveries[0]!;
    expect(a.deliveryId).toBe(b.deliveryId);
    expect(a.deliveryId).not.toBe(c.deliveryId);
  });
});

describe('championAlerts and driftAlerts', () => {
  const event: ModelEvent = {
    alias: 'champion',
    version: 'm-2',
    family: 'gbdt',
    previousVersion: 'm-1',
    reason: 'better',
    at: 3000,
  };
  const subs = [
    sub('c', { kind: 'champion', location: null, threshold: null }),
    sub('d', { kind: 'drift', location: null, threshold: null }),
    sub('f'),
  ];

  it('tells champion subscribers of a champion move, not of a challenger', () => {
    expect(championAlerts(event, subs, 2000).map((d) => [d.subscription.id, d.payload.type])).toEqual([
      ['c', 'champion.changed'],
    ]);
    expect(championAlerts({ ...event, alias: 'challenger' }, subs, 2000)).toEqual([]);
  });

  it('tells drift subscribers of a drift alert', () => {
    const alerts = driftAlerts(
      {
        task: 'rain',
        week: '2017-01-02',
        modelVersion: 'm-1',
        kind: 'feature',
        name: 'rainfall',
        statistic: 'psi',
        value: 0.4,
        threshold: 0.2,
        event: 'opened',
        station: 'Albury',
        incidentId: 'shift:Albury:rainfall:2017-01-02',
        openedWeek: '2017-01-02',
        importance: 0.1,
        rank: 3,
        weeksBreached: 1,
      },
      subs,
      2000,
    );
    expect(alerts.map((d) => d.subscription.id)).toEqual(['d']);
    expect(alerts[0]!.payload).toMatchObject({
      type: 'drift.incident.opened',
      station: 'Albury',
      task: 'rain',
    });
  });
});

describe('applySubscriptionRecord', () => {
  it('sets on a value and deletes on a tombstone', () => {
    const store = new Map<string, Subscription>();
    applySubscriptionRecord(store, 'a', sub('a'));
    applySubscriptionRecord(store, 'b', sub('b'));
    applySubscriptionRecord(store, 'a', null);
    expect([...store.keys()]).toEqual(['b']);
  });
});
