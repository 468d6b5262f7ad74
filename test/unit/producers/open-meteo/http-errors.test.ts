import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import {
  errorOfAnswer,
  parseRetryAfter,
  retryAfterMsOf,
} from '../../../../producers/open-meteo/http-errors.ts';

const NOW = Date.UTC(2024, 0, 1, 12);
const url = 'http://127.0.0.1/v1/archive?latitude=1';

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('30', NOW)).toBe(30_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('Mon, 01 Jan 2024 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 11:00:00 GMT', NOW)).toBe(0);
  });

  it('gives undefined for an absent or unreadable value', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('-5', NOW)).toBeUndefined();
    expect(parseRetryAfter('1.5', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });

  it('never asks for more than a day, however absurd the value (a pause past it would stall every later call)', () => {
    const day = 86_400_000;
    expect(parseRetryAfter('86401', NOW)).toBe(day);
    expect(parseRetryAfter('99999999999', NOW)).toBe(day);
    // Digits past a double's range read as Infinity: still a day, never a pause without end.
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(day);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', NOW)).toBe(day);
  });
});

describe('errorOfAnswer', () => {
  it('passes a 2xx answer that is not an error body, whatever its layout', () => {
    expect(errorOfAnswer({ status: 200, body: '{"latitude":1}' }, url, NOW)).toBeUndefined();
    expect(errorOfAnswer({ status: 200, body: 'not json' }, url, NOW)).toBeUndefined();
  });

  it("makes Open-Meteo's error body a non-retriable UPSTREAM_REJECTED with the reason", () => {
    const e = errorOfAnswer({ status: 400, body: '{"error":true,"reason":"Invalid timezone"}' }, url, NOW)!;
    expect(e.code).toBe('UPSTREAM_REJECTED');
    expect(e.retriable).toBe(false);
    expect(e.message).toBe('Open-Meteo refused the request (HTTP 400): Invalid timezone');
    expect(e.details).toMatchObject({ status: 400, reason: 'Invalid timezone', apiError: true, url });
    // An error body in a 200 is still an error.
    expect(errorOfAnswer({ status: 200, body: '{"error":true,"reason":"x"}' }, url, NOW)!.code).toBe(
      'UPSTREAM_REJECTED',
    );
  });

  it('makes 429 a retriable RATE_LIMITED carrying Retry-After', () => {
    const e = errorOfAnswer(
      { status: 429, body: '{"error":true,"reason":"Minutely API request limit exceeded"}', retryAfter: '7' },
      url,
      NOW,
    )!;
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retriable).toBe(true);
    expect(e.details).toMatchObject({ retryAfterMs: 7000, reason: 'Minutely API request limit exceeded' });
    expect(errorOfAnswer({ status: 429, body: '' }, url, NOW)!.details.retryAfterMs).toBeUndefined();
  });

  it('makes 503 a retriable UPSTREAM_UNAVAILABLE carrying Retry-After, as a date or seconds, at most a day', () => {
    const e = errorOfAnswer({ status: 503, body: 'busy', retryAfter: '120' }, url, NOW)!;
    expect(e.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(e.retriable).toBe(true);
    expect(e.details).toMatchObject({ status: 503, retryAfterMs: 120_000, retryAfter: '120' });
    const dated = { status: 503, body: '', retryAfter: 'Mon, 01 Jan 2024 12:05:00 GMT' };
    expect(errorOfAnswer(dated, url, NOW)!.details.retryAfterMs).toBe(300_000);
    expect(
      errorOfAnswer({ status: 503, body: '', retryAfter: '999999' }, url, NOW)!.details.retryAfterMs,
    ).toBe(86_400_000);
    expect(errorOfAnswer({ status: 503, body: '' }, url, NOW)!.details.retryAfterMs).toBeUndefined();
    // Only a 429's and a 503's Retry-After is read (RFC 9110 §10.2.3); on any other status it means nothing.
    for (const status of [500, 502, 504, 408, 400, 404]) {
      const other = errorOfAnswer({ status, body: '', retryAfter: '120' }, url, NOW)!;
      expect(other.details.retryAfterMs).toBeUndefined();
      expect(retryAfterMsOf(other)).toBeUndefined();
    }
  });

  it('makes 5xx and 408 retriable, other 4xx not, quoting a non-JSON body briefly', () => {
    const e500 = errorOfAnswer({ status: 503, body: '<html>\n  Service  Unavailable</html>' }, url, NOW)!;
    expect(e500.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(e500.retriable).toBe(true);
    expect(e500.details.reason).toBe('<html> Service Unavailable</html>');
    expect(errorOfAnswer({ status: 408, body: '' }, url, NOW)!.retriable).toBe(true);
    const e404 = errorOfAnswer({ status: 404, body: 'x'.repeat(5000) }, url, NOW)!;
    expect(e404.code).toBe('UPSTREAM_REJECTED');
    expect((e404.details.reason as string).length).toBe(200);
  });
});

describe('retryAfterMsOf', () => {
  it("reads the wait a 429's or a 503's Retry-After asked for", () => {
    const answer = (status: number, retryAfter?: string) =>
      errorOfAnswer({ status, body: '', ...(retryAfter === undefined ? {} : { retryAfter }) }, url, NOW);
    expect(retryAfterMsOf(answer(429, '7'))).toBe(7_000);
    expect(retryAfterMsOf(answer(503, '7'))).toBe(7_000);
    expect(retryAfterMsOf(answer(429))).toBeUndefined();
    expect(retryAfterMsOf(answer(503))).toBeUndefined();
  });

  it('finds nothing in other errors, nor in a wrapper around one that had a wait', () => {
    const cause = errorOfAnswer({ status: 503, body: '', retryAfter: '7' }, url, NOW);
    expect(retryAfterMsOf(new RainstreamError('RETRIES_EXHAUSTED', 'gave up', { cause }))).toBeUndefined();
    expect(
      retryAfterMsOf(new RainstreamError('TIMEOUT', 'slow', { details: { retryAfterMs: 5 } })),
    ).toBeUndefined();
    expect(retryAfterMsOf(new Error('x'))).toBeUndefined();
  });
});
