import { describe, expect, it } from 'vitest';
import { createMetrics, metricName, Reservoir } from '../../../../lib/platform/metrics.ts';

/** `name{labels} value` lines of the exposition text, comments left out. */
async function samples(metrics: ReturnType<typeof createMetrics>): Promise<Map<string, number>> {
  const text = await metrics.registry.metrics();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('createMetrics', () => {
  it('keeps the snapshot counters the stages and benches read', () => {
    const m = createMetrics();
    m.inc('predictions', undefined, 3);
    m.inc('features_events', { outcome: 'late' }, 2);
    m.inc('features_events', { outcome: 'late' });
    expect(m.snapshot().counters).toEqual({ predictions: 3, 'features_events{outcome=late}': 3 });
  });

  it('maps the stages names onto the standard families', async () => {
    const m = createMetrics();
    m.inc('features_events', { outcome: 'emitted' }, 5);
    m.inc('features_events', { outcome: 'late' }, 2);
    m.inc('features_dlq', undefined, 1);
    m.inc('predictions', undefined, 5);
    m.inc('predictor_dlq', undefined, 0);
    m.inc('training_runs', { task: 'max_temp', status: 'trained' });
    const s = await samples(m);
    expect(s.get('rainstream_stage_records_in_total{stage="features"}')).toBe(8);
    expect(s.get('rainstream_stage_records_out_total{stage="features"}')).toBe(5);
    expect(s.get('rainstream_stage_outcomes_total{stage="features",outcome="late"}')).toBe(2);
    expect(s.get('rainstream_stage_dlq_total{stage="features",reason="undecodable"}')).toBe(1);
    expect(s.get('rainstream_stage_records_in_total{stage="predictor"}')).toBe(5);
    expect(s.get('rainstream_stage_records_out_total{stage="predictor"}')).toBe(5);
    expect(s.get('rainstream_training_runs_total{task="max_temp",outcome="trained"}')).toBe(1);
  });

  it('exposes an unknown name as its own counter, with the labels it was first given', async () => {
    const m = createMetrics();
    m.inc('late-events', { stage: 'features', kind: 'far future' }, 2);
    m.inc('late-events', { stage: 'labeler', extra: 'dropped' });
    const s = await samples(m);
    expect(s.get('rainstream_late_events_total{stage="features",kind="far future"}')).toBe(2);
    expect(s.get('rainstream_late_events_total{stage="labeler",kind=""}')).toBe(1);
  });

  it('observes milliseconds into a seconds histogram and a bounded reservoir', async () => {
    const m = createMetrics({ reservoirSize: 100 });
    for (let i = 1; i <= 1000; i++) m.observe('prediction_lag_ms', i);
    const s = await samples(m);
    expect(s.get('rainstream_prediction_lag_seconds_count')).toBe(1000);
    expect(s.get('rainstream_prediction_lag_seconds_sum')).toBeCloseTo(500.5, 6);
    expect(s.get('rainstream_prediction_lag_seconds_bucket{le="0.5"}')).toBe(500);
    expect(m.snapshot().samples.prediction_lag_ms).toHaveLength(100);
  });

  it('observes each stage batch: its seconds, and every record from its Kafka timestamp to the commit', async () => {
    const m = createMetrics();
    const now = 1_000_000;
    m.batchDone('features', now - 40, [{ timestamp: now - 300 }, { timestamp: now - 3_000 }], now);
    m.batchDone('features', now - 2_000, [{ timestamp: now + 50 }], now);
    m.batchDone('predictor', now - 5, [{ timestamp: now - 100 }], now);
    const s = await samples(m);
    expect(s.get('rainstream_stage_batch_seconds_count{stage="features"}')).toBe(2);
    expect(s.get('rainstream_stage_batch_seconds_sum{stage="features"}')).toBeCloseTo(2.04, 9);
    expect(s.get('rainstream_stage_batch_seconds_bucket{le="0.05",stage="features"}')).toBe(1);
    expect(s.get('rainstream_stage_event_latency_seconds_count{stage="features"}')).toBe(3);
    // A timestamp ahead of this clock (another host's) counts as no latency, not a negative one.
    expect(s.get('rainstream_stage_event_latency_seconds_bucket{le="0.01",stage="features"}')).toBe(1);
    expect(s.get('rainstream_stage_event_latency_seconds_bucket{le="0.5",stage="features"}')).toBe(2);
    expect(s.get('rainstream_stage_event_latency_seconds_sum{stage="features"}')).toBeCloseTo(3.3, 9);
    expect(s.get('rainstream_stage_event_latency_seconds_count{stage="predictor"}')).toBe(1);
    expect(s.get('rainstream_stage_batch_seconds_count{stage="predictor"}')).toBe(1);
  });

  it('observes training runs seconds by task and outcome', async () => {
    const m = createMetrics();
    m.trainingRunDone('rain', 'trained', 42);
    m.trainingRunDone('rain', 'trained', 0.2);
    m.trainingRunDone('max_temp', 'failed', 3);
    const s = await samples(m);
    expect(s.get('rainstream_training_run_seconds_count{task="rain",outcome="trained"}')).toBe(2);
    expect(s.get('rainstream_training_run_seconds_sum{task="rain",outcome="trained"}')).toBeCloseTo(42.2, 9);
    expect(s.get('rainstream_training_run_seconds_bucket{le="0.5",task="rain",outcome="trained"}')).toBe(1);
    expect(s.get('rainstream_training_run_seconds_bucket{le="60",task="rain",outcome="trained"}')).toBe(2);
    expect(s.get('rainstream_training_run_seconds_count{task="max_temp",outcome="failed"}')).toBe(1);
  });

  it('keeps registries apart, so two pipelines in one process do not collide', () => {
    const a = createMetrics();
    const b = createMetrics();
    a.inc('predictions');
    b.inc('predictions');
    expect(a.registry).not.toBe(b.registry);
  });
});

describe('Reservoir', () => {
  it('holds every value until full, then a uniform sample', () => {
    // mulberry32: a deterministic, well-mixed generator, so the test cannot flake.
    let a = 42;
    const random = () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const r = new Reservoir(1000, random);
    for (let i = 0; i < 100; i++) r.add(i);
    expect([...r.sample()]).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 100; i < 100_000; i++) r.add(i);
    const sample = r.sample();
    expect(sample).toHaveLength(1000);
    // A uniform sample of 0..99,999 has its median near 50,000 (sd of the sample median ~ 1,600).
    const sorted = Float64Array.from(sample).sort();
    expect(Math.abs(sorted[500]! - 50_000)).toBeLessThan(8_000);
  });
});

describe('metricName', () => {
  it('makes a valid Prometheus name', () => {
    expect(metricName('late-events')).toBe('late_events');
    expect(metricName('9lives')).toBe('_9lives');
    expect(metricName('Drift Alerts!')).toBe('drift_alerts');
  });
});
