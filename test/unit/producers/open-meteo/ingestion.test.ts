import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import {
  addOutcome,
  emptyOutcome,
  isFenced,
  positionText,
  transactionalIdOf,
} from '../../../../producers/open-meteo/ingestion.ts';
import { overlap } from '../../../../producers/open-meteo/remap.ts';

/** The shape kafkajs gives a broker error (KafkaJSProtocolError), possibly wrapped in its retrier's. */
const protocolError = (
  type: string,
  code: number,
  message = 'Producer attempted an operation with an old epoch',
) => Object.assign(new Error(message), { type, code });

describe('isFenced', () => {
  it("recognises the broker refusing a producer's epoch, however wrapped", () => {
    expect(isFenced(protocolError('INVALID_PRODUCER_EPOCH', 47))).toBe(true);
    expect(isFenced(protocolError('PRODUCER_FENCED', 90))).toBe(true);
    const retrier = Object.assign(new Error('retries exhausted'), {
      originalError: protocolError('INVALID_PRODUCER_EPOCH', 47),
    });
    expect(isFenced(retrier)).toBe(true);
    expect(isFenced(new RainstreamError('KAFKA', 'sending', { cause: retrier }))).toBe(true);
  });

  it('is not fooled by other errors', () => {
    expect(
      isFenced(
        protocolError('CONCURRENT_TRANSACTIONS', 51, 'another concurrent operation on the same transaction'),
      ),
    ).toBe(false);
    expect(isFenced(new Error('connection refused'))).toBe(false);
    expect(isFenced(undefined)).toBe(false);
  });
});

describe('naming', () => {
  it('gives each station its own transactional id within the deployment', () => {
    expect(transactionalIdOf('rainstream', 'Marrakech')).toBe('rainstream.open-meteo.Marrakech');
  });

  it('writes a log position as topic:partition:offset', () => {
    expect(positionText({ topic: 'rs.open-meteo.raw.v1', partition: 2, offset: '41' })).toBe(
      'rs.open-meteo.raw.v1:2:41',
    );
  });

  it('adds outcomes', () => {
    const total = addOutcome(emptyOutcome(), { ingested: 3, identical: 1, conflicts: 0, rejected: 2 });
    addOutcome(total, { ingested: 1, identical: 0, conflicts: 1, rejected: 0 });
    expect(total).toEqual({ ingested: 4, identical: 1, conflicts: 1, rejected: 2 });
  });
});

describe('remap overlap', () => {
  const answer = { from: '2024-05-04', to: '2024-06-03' };
  it('keeps the days of an answer inside the wanted range', () => {
    expect(overlap(answer, {})).toEqual(answer);
    expect(overlap(answer, { from: '2024-05-01', to: '2024-05-10' })).toEqual({
      from: '2024-05-04',
      to: '2024-05-10',
    });
    expect(overlap(answer, { from: '2024-06-01' })).toEqual({ from: '2024-06-01', to: '2024-06-03' });
    expect(overlap(answer, { to: '2024-05-04' })).toEqual({ from: '2024-05-04', to: '2024-05-04' });
  });

  it('says when they do not meet', () => {
    expect(overlap(answer, { from: '2024-06-04' })).toBeNull();
    expect(overlap(answer, { to: '2024-05-03' })).toBeNull();
  });
});
