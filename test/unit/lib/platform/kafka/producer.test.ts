import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../../lib/platform/config.ts';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import { kafkaLogLevelFor, silenceKafkajsTimeoutWarning } from '../../../../../lib/platform/kafka/client.ts';
import type { Message } from '../../../../../lib/platform/kafka/client.ts';
import type { ConsumedRecord } from '../../../../../lib/platform/kafka/consumer.ts';
import { DLQ_HEADERS, readDlqHeaders, toDlqMessage } from '../../../../../lib/platform/kafka/dlq.ts';
import {
  approximateMessageBytes,
  BROKER_MAX_MESSAGE_BYTES,
  chunkMessages,
  DEFAULT_MAX_SEND_BYTES,
} from '../../../../../lib/platform/kafka/producer.ts';
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
});

describe('chunkMessages', () => {
  const message = (bytes: number, key = 'k'): Message => ({ key, value: Buffer.alloc(bytes) });

  it('keeps every chunk under the bound and the order intact', () => {
    const messages = Array.from({ length: 5_000 }, (_, i) => message(200 + (i % 50), `k${i}`));
    const chunks = chunkMessages(messages, 64 * 1024);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.reduce((sum, m) => sum + approximateMessageBytes(m), 0)).toBeLessThanOrEqual(64 * 1024);
    }
    expect(chunks.flat()).toEqual(messages);
  });

  it('puts a message bigger than the bound (but within the broker limit) alone', () => {
    const chunks = chunkMessages([message(10), message(DEFAULT_MAX_SEND_BYTES + 1), message(10)]);
    expect(chunks.map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it('refuses a message the broker would refuse, by name', () => {
    expect(() => chunkMessages([message(BROKER_MAX_MESSAGE_BYTES + 1)])).toThrow(RainstreamError);
    try {
      chunkMessages([message(BROKER_MAX_MESSAGE_BYTES + 1)]);
    } catch (e) {
      expect((e as RainstreamError).code).toBe('MESSAGE_TOO_LARGE');
      expect((e as RainstreamError).retriable).toBe(false);
    }
  });

  it('returns no chunk for no message', () => {
    expect(chunkMessages([])).toEqual([]);
  });

  it('counts headers and multi-byte strings', () => {
    expect(approximateMessageBytes({ key: 'é', value: 'ü', headers: { h: ['ab', Buffer.from('c')] } })).toBe(
      24 + 2 + 2 + (1 + 2 + 8) + (1 + 1 + 8),
    );
  });
});

describe('DLQ message', () => {
  const record: ConsumedRecord = {
    topic: 'rs.observations.v1',
    partition: 2,
    offset: '1234',
    key: Buffer.from('Sydney'),
    value: Buffer.from([0, 0, 0, 0, 9, 1, 2]),
    headers: { traceparent: '00-abc' },
    timestamp: 0,
  };

  it('keeps key, value and headers, and says where from and why', () => {
    const error = new RainstreamError('DECODE', 'humidity out of range', {
      details: { field: 'humidity3pm' },
    });
    const message = toDlqMessage({ record, reason: error });
    expect(message.key).toBe(record.key);
    expect(message.value).toBe(record.value);
    expect(message.headers!.traceparent).toBe('00-abc');
    expect(readDlqHeaders(message.headers!)).toEqual({
      reason: 'DECODE: humidity out of range',
      field: 'humidity3pm',
      sourceTopic: 'rs.observations.v1',
      sourcePartition: 2,
      sourceOffset: '1234',
    });
  });

  it('prefers an explicit field and truncates a very long reason', () => {
    const message = toDlqMessage({ record, reason: 'x'.repeat(5_000), field: 'date' });
    expect(String(message.headers![DLQ_HEADERS.field])).toBe('date');
    expect(String(message.headers![DLQ_HEADERS.reason]).length).toBeLessThanOrEqual(1_001);
  });
});

describe('kafka client helpers', () => {
  it('maps pino levels to kafkajs levels', () => {
    expect(kafkaLogLevelFor('debug')).toBe(5);
    expect(kafkaLogLevelFor('info')).toBe(4);
    expect(kafkaLogLevelFor('warn')).toBe(2);
    expect(kafkaLogLevelFor('error')).toBe(1);
    expect(kafkaLogLevelFor('silent')).toBe(0);
  });

  it('drops TimeoutNegativeWarning only when kafkajs raised it', async () => {
    silenceKafkajsTimeoutWarning();
    silenceKafkajsTimeoutWarning(); // idempotent
    const seen: string[] = [];
    const onWarning = (w: Error) => seen.push(w.name);
    process.on('warning', onWarning);
    try {
      // Raised from our own code: must still be reported.
      process.emitWarning('-5 is a negative number', 'TimeoutNegativeWarning');
      process.emitWarning('something else', 'OtherWarning');
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['TimeoutNegativeWarning', 'OtherWarning']);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
