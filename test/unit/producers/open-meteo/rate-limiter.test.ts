import { describe, expect, it } from 'vitest';
import { isRainstreamError } from '../../../../lib/platform/errors.ts';
import {
  acquire,
  OPEN_METEO_FREE_TIER,
  SlidingWindowLimiter,
  type Clock,
} from '../../../../producers/open-meteo/rate-limiter.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A clock that only moves when something sleeps on it. */
function manualClock(start = 0): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('SlidingWindowLimiter', () => {
  it('admits up to the limit within a window, then says how long to wait', () => {
    const limiter = new SlidingWindowLimiter([{ name: 'minute', windowMs: MINUTE, limit: 10 }]);
    for (let i = 0; i < 10; i++) expect(limiter.tryAcquire(1, i * 1000)).toBe(0);
    // The first call (t=0) leaves the window at t=60s.
    expect(limiter.tryAcquire(1, 10_000)).toBe(50_000);
    expect(limiter.tryAcquire(1, 59_999)).toBe(1);
    expect(limiter.tryAcquire(1, 60_000)).toBe(0);
  });

  it('counts weights, fractional ones included', () => {
    const limiter = new SlidingWindowLimiter([{ name: 'minute', windowMs: MINUTE, limit: 10 }]);
    expect(limiter.tryAcquire(2.88, 0)).toBe(0);
    expect(limiter.tryAcquire(2.88, 1000)).toBe(0);
    expect(limiter.tryAcquire(2.88, 2000)).toBe(0);
    expect(limiter.usage(2000).minute).toBeCloseTo(8.64);
    // 8.64 + 2.88 > 10: wait until the first leaves.
    expect(limiter.tryAcquire(2.88, 3000)).toBe(57_000);
    // A lighter call still fits.
    expect(limiter.tryAcquire(1.3, 3000)).toBe(0);
  });

  it('waits for enough old calls to leave to fit a heavy one', () => {
    const limiter = new SlidingWindowLimiter([{ name: 'minute', windowMs: MINUTE, limit: 10 }]);
    for (let i = 0; i < 5; i++) limiter.record(2, i * 1000);
    // 10 used; a call of 5 needs the calls at 0s, 1s and 2s gone: at 62s.
    expect(limiter.delayFor(5, 10_000)).toBe(52_000);
  });

  it('holds every window at once: the hour limit binds after the minute one allows', () => {
    const limiter = new SlidingWindowLimiter([
      { name: 'minute', windowMs: MINUTE, limit: 10 },
      { name: 'hour', windowMs: HOUR, limit: 15 },
    ]);
    for (let i = 0; i < 10; i++) expect(limiter.tryAcquire(1, 0)).toBe(0);
    for (let i = 0; i < 5; i++) expect(limiter.tryAcquire(1, MINUTE)).toBe(0);
    expect(limiter.tryAcquire(1, 2 * MINUTE)).toBe(HOUR - 2 * MINUTE);
    expect(limiter.usage(2 * MINUTE)).toEqual({ minute: 0, hour: 15 });
  });

  it('keeps to the free tier over a day of calls paced by acquire', async () => {
    const limiter = new SlidingWindowLimiter(OPEN_METEO_FREE_TIER);
    const clock = manualClock();
    const times: number[] = [];
    for (let i = 0; i < 6000; i++) {
      await acquire(limiter, 2, clock);
      times.push(clock.now());
    }
    // Every sliding window ending at an admitted call, counted from the log with a trailing pointer.
    const windows: [number, number][] = [
      [MINUTE, 600],
      [HOUR, 5000],
      [24 * HOUR, 10_000],
    ];
    for (const [length, limit] of windows) {
      let first = 0;
      let worst = 0;
      for (let i = 0; i < times.length; i++) {
        while (times[first]! <= times[i]! - length) first++;
        worst = Math.max(worst, (i - first + 1) * 2);
      }
      expect(worst).toBeLessThanOrEqual(limit);
      expect(worst).toBeGreaterThan(limit - 2);
    }
    // 6000 calls of weight 2 = 12,000 > 10,000: the last ones had to wait a day for the first to leave.
    expect(times.at(-1)!).toBeGreaterThanOrEqual(24 * HOUR);
  });

  it('pauses for a server-given Retry-After whatever its own count says', async () => {
    const limiter = new SlidingWindowLimiter(OPEN_METEO_FREE_TIER);
    const clock = manualClock(1_000);
    limiter.pauseUntil(31_000);
    expect(await acquire(limiter, 1, clock)).toBe(30_000);
    expect(clock.slept).toEqual([30_000]);
    expect(await acquire(limiter, 1, clock)).toBe(0);
  });

  it('does not let a clock stepping back admit calls twice', () => {
    const limiter = new SlidingWindowLimiter([{ name: 'minute', windowMs: MINUTE, limit: 2 }]);
    expect(limiter.tryAcquire(1, 100_000)).toBe(0);
    expect(limiter.tryAcquire(1, 100_000)).toBe(0);
    expect(limiter.tryAcquire(1, 10_000)).toBe(60_000);
  });

  it('refuses a call heavier than a window could ever hold, as a non-retriable error', () => {
    const limiter = new SlidingWindowLimiter(OPEN_METEO_FREE_TIER);
    let error: unknown;
    try {
      limiter.delayFor(700, 0);
    } catch (e) {
      error = e;
    }
    expect(isRainstreamError(error, 'RATE_LIMITED')).toBe(true);
    expect((error as { retriable: boolean }).retriable).toBe(false);
    expect((error as Error).message).toMatch(/exceeds the minute limit of 600/);
  });

  it('stops waiting when aborted', async () => {
    const limiter = new SlidingWindowLimiter([{ name: 'minute', windowMs: MINUTE, limit: 1 }]);
    const clock = manualClock();
    await acquire(limiter, 1, clock);
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(acquire(limiter, 1, clock, controller.signal)).rejects.toThrow('shutting down');
  });
});
