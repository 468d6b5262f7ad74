import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import { decideOnFailure, isGroupMembershipError } from '../../../../../lib/platform/kafka/consumer.ts';

const running = { stopping: false, stale: false };

describe('decideOnFailure', () => {
  it('waits out an outage and an error no retry should fix alike: never gives up, never commits', () => {
    expect(decideOnFailure(new RainstreamError('CLICKHOUSE', 'refused'), running)).toBe('wait');
    expect(decideOnFailure(new RainstreamError('CLICKHOUSE_QUERY', 'unknown table'), running)).toBe('wait');
    expect(decideOnFailure(new Error('nobody typed this'), running)).toBe('wait');
  });

  it('waits when fenced: the heartbeats of the wait tell a rebalance from a transaction that timed out', () => {
    expect(decideOnFailure(new RainstreamError('FENCED', 'epoch'), running)).toBe('wait');
  });

  it('rejoins when kafkajs says the group is rebalancing', () => {
    const rebalancing = Object.assign(new Error('rebalance'), { type: 'REBALANCE_IN_PROGRESS' });
    expect(decideOnFailure(rebalancing, running)).toBe('rejoin');
    expect(decideOnFailure(Object.assign(new Error('gone'), { type: 'UNKNOWN_MEMBER_ID' }), running)).toBe(
      'rejoin',
    );
  });

  it('lets the batch go when stopping, when stale, or when told to', () => {
    const outage = new RainstreamError('REDIS', 'down');
    expect(decideOnFailure(outage, { stopping: true, stale: false })).toBe('abandon');
    expect(decideOnFailure(outage, { stopping: false, stale: true })).toBe('abandon');
    expect(decideOnFailure(new RainstreamError('REBALANCE', 'moved'), running)).toBe('abandon');
  });
});

describe('isGroupMembershipError', () => {
  it('knows the kafkajs error types of a group that moved on', () => {
    for (const type of [
      'REBALANCE_IN_PROGRESS',
      'ILLEGAL_GENERATION',
      'UNKNOWN_MEMBER_ID',
      'NOT_COORDINATOR_FOR_GROUP',
    ]) {
      expect(isGroupMembershipError(Object.assign(new Error(type), { type }))).toBe(true);
    }
    expect(isGroupMembershipError(Object.assign(new Error('x'), { type: 'REQUEST_TIMED_OUT' }))).toBe(false);
    expect(isGroupMembershipError(null)).toBe(false);
  });
});
