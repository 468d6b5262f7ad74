import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import type { Message } from '../../../../../lib/platform/kafka/client.ts';
import {
  partitionOfKey,
  approximateMessageBytes,
  BROKER_MAX_MESSAGE_BYTES,
  chunkMessages,
  DEFAULT_MAX_SEND_BYTES,
} from '../../../../../lib/platform/kafka/producer.ts';

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

describe('partitionOfKey', () => {
  it('is murmur2 of the key modulo the partitions, as the Java client and kafkajs place keys', () => {
    // Where the producer really puts them is checked on Kafka (test/integration/producers/replay).
    const seen = new Set<number>();
    for (const key of ['Sydney', 'Perth', 'Albury', 'Darwin', 'Hobart', 'Cairns']) {
      const p = partitionOfKey(key, 6);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
      expect(partitionOfKey(key, 6)).toBe(p);
      seen.add(p);
    }
    expect(seen.size).toBeGreaterThan(1);
    expect(partitionOfKey('Sydney', 1)).toBe(0);
  });
});
