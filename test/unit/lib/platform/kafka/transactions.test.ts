import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import {
  isFencedError,
  transactionalIdOf,
  transactionError,
} from '../../../../../lib/platform/kafka/transactions.ts';

describe('transactions', () => {
  it('derives a stable transactional id from the group and the input partition', () => {
    expect(transactionalIdOf('rs.features', 'rs.observations.v1', 3)).toBe(
      'rs.features.tx.rs.observations.v1.3',
    );
  });

  it('recognises fencing anywhere in the cause chain', () => {
    const epoch = Object.assign(new Error('epoch'), { type: 'INVALID_PRODUCER_EPOCH' });
    expect(isFencedError(new Error('wrapped', { cause: epoch }))).toBe(true);
    expect(isFencedError(Object.assign(new Error('x'), { type: 'CONCURRENT_TRANSACTIONS' }))).toBe(false);
  });

  it('types a failed transaction: fenced, or retriable with whether the outcome is unknown', () => {
    const fenced = transactionError(
      Object.assign(new Error('e'), { type: 'INVALID_PRODUCER_EPOCH' }),
      'tx',
      true,
    );
    expect(fenced).toMatchObject({ code: 'FENCED', retriable: false });
    const lost = transactionError(
      Object.assign(new Error('Connection error'), { retriable: true }),
      'tx',
      true,
    );
    expect(lost).toMatchObject({ code: 'TRANSACTION', retriable: true, details: { committing: true } });
    const tooLarge = new RainstreamError('MESSAGE_TOO_LARGE', 'big');
    expect(transactionError(tooLarge, 'tx', false)).toBe(tooLarge);
  });
});
