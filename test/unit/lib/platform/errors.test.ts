import { describe, expect, it } from 'vitest';
import {
  causeChain,
  describeError,
  ERROR_CODES,
  isRainstreamError,
  isRetriable,
  RainstreamError,
} from '../../../../lib/platform/errors.ts';

describe('RainstreamError', () => {
  it('carries code, retriable default by code, cause and details', () => {
    const cause = new Error('socket hang up');
    const e = new RainstreamError('CLICKHOUSE', 'insert failed', {
      cause,
      details: { table: 'predictions' },
    });
    expect(e.code).toBe('CLICKHOUSE');
    expect(e.retriable).toBe(true);
    expect(e.cause).toBe(cause);
    expect(e.details).toEqual({ table: 'predictions' });
    expect(e).toBeInstanceOf(Error);
    expect(new RainstreamError('DECODE', 'bad').retriable).toBe(false);
    expect(new RainstreamError('DECODE', 'bad', { retriable: true }).retriable).toBe(true);
  });

  it('has unique codes', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('narrows by code', () => {
    const e: unknown = new RainstreamError('VALIDATION', 'x');
    expect(isRainstreamError(e)).toBe(true);
    expect(isRainstreamError(e, 'VALIDATION')).toBe(true);
    expect(isRainstreamError(e, 'DECODE')).toBe(false);
    expect(isRainstreamError(new Error('x'))).toBe(false);
  });
});

describe('isRetriable', () => {
  it('never retries programming errors or validation', () => {
    expect(isRetriable(new TypeError('x is undefined'))).toBe(false);
    expect(isRetriable(new RangeError('bad length'))).toBe(false);
    expect(isRetriable(new ReferenceError('nope'))).toBe(false);
    expect(isRetriable(new RainstreamError('VALIDATION', 'bad field'))).toBe(false);
  });

  it('trusts a boolean retriable flag on foreign errors (kafkajs)', () => {
    expect(isRetriable(Object.assign(new Error('leader not available'), { retriable: true }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('message too large'), { retriable: false }))).toBe(false);
  });

  it('retries socket-level failures, and nothing else nobody typed', () => {
    expect(isRetriable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isRetriable(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(true);
    expect(
      isRetriable(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })),
    ).toBe(true);
    expect(isRetriable(new Error('socket hang up'))).toBe(true);
    expect(isRetriable(new Error('something odd in a step'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('typed elsewhere'), { code: 'JOIN_STATE' }))).toBe(false);
    expect(isRetriable('a string')).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
  });

  it("treats kafkajs's retries-exceeded as retriable as its cause", () => {
    const exceeded = (cause: unknown) =>
      Object.assign(new Error('retries exceeded'), {
        name: 'KafkaJSNumberOfRetriesExceeded',
        retriable: false,
        cause,
      });
    expect(isRetriable(exceeded(Object.assign(new Error('Connection error'), { retriable: true })))).toBe(
      true,
    );
    expect(isRetriable(exceeded(Object.assign(new Error('too large'), { retriable: false })))).toBe(false);
    const bailed = (cause: unknown) =>
      Object.assign(new Error('bailed'), { name: 'KafkaJSNonRetriableError', retriable: false, cause });
    const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED'), {
      name: 'KafkaJSConnectionError',
      retriable: true,
    });
    expect(isRetriable(bailed(refused))).toBe(true);
    expect(isRetriable(bailed(Object.assign(new Error('too large'), { retriable: false })))).toBe(false);
    expect(
      isRetriable(Object.assign(new Error('plain'), { name: 'KafkaJSNonRetriableError', retriable: false })),
    ).toBe(false);
  });

  it('types the new runtime codes: transactions retry, fencing and rebalances let the batch go', () => {
    expect(new RainstreamError('TRANSACTION', 'x').retriable).toBe(true);
    expect(new RainstreamError('FENCED', 'x').retriable).toBe(false);
    expect(new RainstreamError('REBALANCE', 'x').retriable).toBe(false);
  });
});

describe('causeChain', () => {
  it('lists an error and its causes, and survives a cycle', () => {
    const inner = new Error('inner');
    const outer = new Error('outer', { cause: inner });
    expect(causeChain(outer)).toEqual([outer, inner]);
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(causeChain(a)).toHaveLength(2);
  });
});

describe('describeError', () => {
  it('is one line with the code', () => {
    expect(describeError(new RainstreamError('DECODE', 'truncated'))).toBe('DECODE: truncated');
    expect(describeError(new TypeError('boom'))).toBe('TypeError: boom');
    expect(describeError(42)).toBe('42');
    expect(describeError(Object.assign(new Error('width 3'), { code: 'FEATURE_SET_MISMATCH' }))).toBe(
      'FEATURE_SET_MISMATCH: width 3',
    );
  });
});
