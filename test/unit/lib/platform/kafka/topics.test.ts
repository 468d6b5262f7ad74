import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../../lib/platform/config.ts';
import { topicSpecs } from '../../../../../lib/platform/kafka/topics.ts';

describe('topicSpecs', () => {
  const config = loadConfig({ TOPIC_PREFIX: 'rs-test', TOPIC_PARTITIONS: '4' });
  const specs = topicSpecs(config);
  const byTopic = new Map(specs.map((s) => [s.topic, s]));

  it('covers every topic of the config once', () => {
    expect(specs.map((s) => s.topic).sort()).toEqual(Object.values(config.topics).sort());
  });

  it('keeps the event log forever, the DLQ and drift alerts 30 days, compacts model events', () => {
    for (const t of ['observations', 'features', 'predictions', 'labeled'] as const) {
      const spec = byTopic.get(config.topics[t])!;
      expect(spec.numPartitions).toBe(4);
      expect(spec.configEntries['retention.ms']).toBe('-1');
      expect(spec.configEntries['cleanup.policy']).toBe('delete');
    }
    for (const t of ['observationsDlq', 'driftAlerts'] as const) {
      expect(byTopic.get(config.topics[t])!.configEntries['retention.ms']).toBe(
        String(30 * 24 * 3600 * 1000),
      );
    }
    const events = byTopic.get(config.topics.modelEvents)!;
    expect(events.configEntries['cleanup.policy']).toBe('compact');
    expect(events.numPartitions).toBe(1);
  });

  it('keeps raw Open-Meteo answers forever, gzipped, and compacts the ingestion state', () => {
    const raw = byTopic.get(config.topics.openMeteoRaw)!;
    expect(raw.topic).toBe('rs-test.open-meteo.raw.v1');
    expect(raw.numPartitions).toBe(4);
    expect(raw.configEntries).toMatchObject({ 'retention.ms': '-1', 'compression.type': 'gzip' });
    const state = byTopic.get(config.topics.openMeteoState)!;
    expect(state.topic).toBe('rs-test.open-meteo.state.v1');
    expect(state.configEntries['cleanup.policy']).toBe('compact');
  });
});
