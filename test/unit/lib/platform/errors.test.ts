import { describe, expect, it } from 'vitest';
import {
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

  it('presumes other errors transient and non-errors not', () => {
    expect(isRetriable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isRetriable('a string')).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
  });
});

describe('describeError', () => {
  it('is one line with the code', () => {
    expect(describeError(new RainstreamError('DECODE', 'truncated'))).toBe('DECODE: truncated');
    expect(describeError(new TypeError('boom'))).toBe('TypeError: boom');
    expect(describeError(42)).toBe('42');
  });
});
