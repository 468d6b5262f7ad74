import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import type { ConsumedRecord } from '../../../../../lib/platform/kafka/consumer.ts';
import { DLQ_HEADERS, readDlqHeaders, toDlqMessage } from '../../../../../lib/platform/kafka/dlq.ts';

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
