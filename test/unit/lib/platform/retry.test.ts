import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import { abortableSleep, backoffDelay, retry } from '../../../../lib/platform/retry.ts';

const noSleep = async () => {};

describe('backoffDelay', () => {
  const o = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, jitter: 0.5 };

  it('grows exponentially and is capped', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, o, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('randomises only the jitter share', () => {
    expect(backoffDelay(3, o, () => 0)).toBe(200);
    expect(backoffDelay(3, o, () => 0.5)).toBe(300);
    expect(backoffDelay(3, { ...o, jitter: 0 }, () => 0.9)).toBe(400);
  });
});

describe('retry', () => {
  it('returns the first success', async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new RainstreamError('KAFKA', 'not leader');
        return 'ok';
      },
      { sleep: noSleep },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('never retries a non-retriable error, and rethrows it unchanged', async () => {
    let calls = 0;
    const bad = new RainstreamError('VALIDATION', 'bad');
    await expect(
      retry(
        async () => {
          calls++;
          throw bad;
        },
        { sleep: noSleep },
      ),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
  });

  it('never retries a programming error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new TypeError('cannot read properties of undefined');
        },
        { sleep: noSleep },
      ),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });

  it('gives up after the bounded attempts with a non-retriable RETRIES_EXHAUSTED', async () => {
    let calls = 0;
    const delays: number[] = [];
    const last = new RainstreamError('REDIS', 'down');
    const error = await retry(
      async () => {
        calls++;
        throw last;
      },
      { retries: 3, random: () => 1, sleep: noSleep, onRetry: ({ delayMs }) => delays.push(delayMs) },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(delays).toEqual([100, 200, 400]);
    expect(error).toBeInstanceOf(RainstreamError);
    expect((error as RainstreamError).code).toBe('RETRIES_EXHAUSTED');
    expect((error as RainstreamError).retriable).toBe(false);
    expect((error as RainstreamError).cause).toBe(last);
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    const pending = retry(
      async () => {
        throw new RainstreamError('KAFKA', 'down');
      },
      { initialDelayMs: 60_000, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('shutdown')), 10);
    await expect(pending).rejects.toThrow('shutdown');
  });
});

describe('abortableSleep', () => {
  it('resolves after the delay', async () => {
    const started = performance.now();
    await abortableSleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });
});
