/**
 * A sliding-window limiter over several windows at once (Open-Meteo's free tier: 600 calls a minute,
 * 5,000 an hour, 10,000 a day), where each call has a weight (request.ts callWeight). It keeps a log of
 * (time, weight) and admits a call only when, in every window, the weights of the calls of the last
 * window length plus this one stay within the limit: unlike a token bucket it never bursts past a
 * limit at a window boundary. The day is a sliding 24 hours, stricter than a calendar day.
 * Pure and clock-injected: the caller passes `now`; `acquire` waits with an injected sleep.
 */
import { RainstreamError } from '../../lib/platform/errors.ts';

export interface RateWindow {
  name: string;
  windowMs: number;
  limit: number;
}

export const OPEN_METEO_FREE_TIER: readonly RateWindow[] = Object.freeze([
  { name: 'minute', windowMs: 60_000, limit: 600 },
  { name: 'hour', windowMs: 3_600_000, limit: 5_000 },
  { name: 'day', windowMs: 86_400_000, limit: 10_000 },
]);

export class SlidingWindowLimiter {
  private readonly windows: readonly RateWindow[];
  private times: number[] = [];
  private weights: number[] = [];
  /** Per window: index of its oldest call still inside it, and the weight inside it. */
  private readonly starts: number[];
  private readonly sums: number[];
  private pausedUntil = -Infinity;
  private lastNow = -Infinity;

  constructor(windows: readonly RateWindow[] = OPEN_METEO_FREE_TIER) {
    if (windows.length === 0) throw new RangeError('a limiter needs at least one window');
    for (const w of windows) {
      if (!(w.windowMs > 0 && w.limit > 0)) {
        throw new RangeError(`window ${w.name}: limit and length must be > 0`);
      }
    }
    this.windows = windows;
    this.starts = windows.map(() => 0);
    this.sums = windows.map(() => 0);
  }

  /**
   * Milliseconds to wait before a call of `weight` fits every window (0 = now). Throws a non-retriable
   * RATE_LIMITED error for a weight that no window could ever admit: the request must be made smaller.
   */
  delayFor(weight: number, now: number): number {
    now = this.advance(now);
    let wait = Math.max(0, this.pausedUntil - now);
    this.windows.forEach((w, k) => {
      if (weight > w.limit) {
        throw new RainstreamError(
          'RATE_LIMITED',
          `a call of weight ${weight.toFixed(2)} exceeds the ${w.name} limit of ${w.limit}: ask for fewer days`,
          { retriable: false, details: { weight, window: w.name, limit: w.limit } },
        );
      }
      // Drop this window's oldest calls until this one fits: it fits when the last dropped one leaves.
      let used = this.sums[k]!;
      for (let i = this.starts[k]!; used + weight > w.limit + 1e-9 && i < this.times.length; i++) {
        used -= this.weights[i]!;
        wait = Math.max(wait, this.times[i]! + w.windowMs - now);
      }
    });
    return wait;
  }

  /** Records a call of `weight` made at `now`. */
  record(weight: number, now: number): void {
    now = this.advance(now);
    this.times.push(now);
    this.weights.push(weight);
    for (let k = 0; k < this.sums.length; k++) this.sums[k]! += weight;
  }

  /** Admits and records the call when it fits now, and returns 0; else the wait, recording nothing. */
  tryAcquire(weight: number, now: number): number {
    const wait = this.delayFor(weight, now);
    if (wait === 0) this.record(weight, now);
    return wait;
  }

  /** Admits nothing before `until`: the server said so (a 429's or 503's Retry-After), whatever our count says. */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /** Weight spent in each window as of `now`. */
  usage(now: number): Record<string, number> {
    this.advance(now);
    return Object.fromEntries(this.windows.map((w, k) => [w.name, this.sums[k]!]));
  }

  /**
   * Moves every window's start past the calls that left it; the clock is made monotonic, so a clock
   * stepping back (NTP) cannot let calls in twice. Amortised O(1) per call.
   */
  private advance(now: number): number {
    now = this.lastNow = Math.max(this.lastNow, now);
    let oldest = this.times.length;
    this.windows.forEach((w, k) => {
      let i = this.starts[k]!;
      let sum = this.sums[k]!;
      while (i < this.times.length && this.times[i]! <= now - w.windowMs) sum -= this.weights[i++]!;
      this.starts[k] = i;
      // Recompute from scratch when the window empties, so float drift never accumulates.
      this.sums[k] = i === this.times.length ? 0 : sum;
      oldest = Math.min(oldest, i);
    });
    if (oldest > 1024 && oldest * 2 > this.times.length) {
      this.times = this.times.slice(oldest);
      this.weights = this.weights.slice(oldest);
      for (let k = 0; k < this.starts.length; k++) this.starts[k]! -= oldest;
    }
    return now;
  }
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Waits until the limiter admits a call of `weight`, then records it. Returns the time waited. */
export async function acquire(
  limiter: SlidingWindowLimiter,
  weight: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<number> {
  let waited = 0;
  for (;;) {
    signal?.throwIfAborted();
    const wait = limiter.tryAcquire(weight, clock.now());
    if (wait === 0) return waited;
    waited += wait;
    await clock.sleep(wait, signal);
  }
}
