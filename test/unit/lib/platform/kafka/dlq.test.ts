import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import type { ConsumedRecord } from '../../../../../lib/platform/kafka/consumer.ts';
import { createHash } from 'node:crypto';
import {
  boundedText,
  DLQ_HEADERS,
  fileRowDlqMessage,
  MAX_DLQ_VALUE_BYTES,
  readDlqHeaders,
  toDlqMessage,
} from '../../../../../lib/platform/kafka/dlq.ts';
import {
  approximateMessageBytes,
  BROKER_MAX_MESSAGE_BYTES,
} from '../../../../../lib/platform/kafka/producer.ts';

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
      kind: 'invalid',
      stage: '',
      sourceTopic: 'rs.observations.v1',
      sourcePartition: 2,
      sourceOffset: '1234',
      conflicting: '',
      valueBytes: null,
      valueSha256: '',
    });
  });

  it('prefers an explicit field and truncates a very long reason', () => {
    const message = toDlqMessage({ record, reason: 'x'.repeat(5_000), field: 'date' });
    expect(String(message.headers![DLQ_HEADERS.field])).toBe('date');
    expect(Buffer.byteLength(String(message.headers![DLQ_HEADERS.reason]))).toBeLessThanOrEqual(1_024);
  });

  it('keeps every header bounded, whatever the record held, so it always fits the broker limit', () => {
    const huge = Buffer.alloc(900_000, 0x41);
    const hostile: ConsumedRecord = {
      ...record,
      key: Buffer.alloc(50_000, 0x42),
      value: huge,
      headers: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`h${i}`, 'v'.repeat(1_000)])),
    };
    const message = toDlqMessage({
      record: hostile,
      reason: `bad cell ${'€'.repeat(10_000)}`,
      field: 'f'.repeat(1_000),
      kind: 'conflict',
      stage: 'features',
      conflicting: { rainfall: 'x'.repeat(10_000) },
    });
    const headers = readDlqHeaders(message.headers!);
    expect(Buffer.byteLength(headers.reason)).toBeLessThanOrEqual(1_024);
    expect(headers.reason.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(headers.field)).toBeLessThanOrEqual(128);
    expect(Buffer.byteLength(headers.conflicting)).toBeLessThanOrEqual(2_048);
    expect(headers).toMatchObject({ kind: 'conflict', stage: 'features', valueBytes: 900_000 });
    expect(headers.valueSha256).toBe(createHash('sha256').update(huge).digest('hex'));
    expect((message.value as Buffer).length).toBe(MAX_DLQ_VALUE_BYTES);
    expect((message.key as Buffer).length).toBe(1_024);
    expect(String(message.headers![DLQ_HEADERS.keyBytes])).toBe('50000');
    expect(Number(message.headers![DLQ_HEADERS.droppedHeaders])).toBeGreaterThan(0);
    expect(approximateMessageBytes(message)).toBeLessThan(100_000);
    expect(approximateMessageBytes(message)).toBeLessThan(BROKER_MAX_MESSAGE_BYTES);
  });

  it('never copies DLQ headers of a record that comes from a DLQ', () => {
    const again = toDlqMessage({
      record: { ...record, headers: toDlqMessage({ record, reason: 'first' }).headers! },
      reason: 'second',
    });
    expect(readDlqHeaders(again.headers!).reason).toBe('second');
  });
});

describe('fileRowDlqMessage', () => {
  it('carries a 520 kB line cut, with its size and hash, the line as source offset', () => {
    const line = Buffer.alloc(520 * 1024, 0x39);
    const message = fileRowDlqMessage(
      { bytes: line, line: 42, field: 'row', reason: 'too long' },
      'data.csv',
    );
    expect(readDlqHeaders(message.headers!)).toMatchObject({
      reason: 'too long',
      field: 'row',
      kind: 'invalid',
      stage: 'replay',
      sourceTopic: 'file:data.csv',
      sourceOffset: '42',
      valueBytes: 520 * 1024,
    });
    expect(message.key).toBeNull();
  });
});

describe('boundedText', () => {
  it('cuts on a character boundary', () => {
    expect(boundedText('abc', 10)).toBe('abc');
    const cut = boundedText('€€€€€', 10); // 3 bytes each
    expect(cut).toBe('€€…');
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(10);
  });
});
