import { isRetriable, RainstreamError } from './errors.ts';

export interface RetryOptions {
  /** Attempts after the first one; 0 = try once. */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Fraction of each delay that is randomised, 0..1 ("equal jitter" at 0.5). */
  jitter: number;
  /** Overrides which errors are retried; defaults to `isRetriable` from errors.ts. */
  shouldRetry: (error: unknown) => boolean;
  onRetry?: (info: { error: unknown; attempt: number; delayMs: number }) => void;
  signal?: AbortSignal;
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = {
  retries: 5,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
  shouldRetry: isRetriable,
  random: Math.random,
  sleep: abortableSleep,
};

/**
 * Delay before retry number `attempt` (1-based): exponential, capped, with a random share so that
 * many consumers failing together do not come back in lockstep.
 */
export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter'>,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** (attempt - 1));
  const fixed = base * (1 - options.jitter);
  return Math.round(fixed + base * options.jitter * random());
}

/**
 * Runs `fn` until it succeeds, a non-retriable error is thrown (rethrown as is), or the attempts are
 * spent: then a RETRIES_EXHAUSTED error (not retriable, so an outer retry or kafkajs gives up too)
 * carries the last error as its cause.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: Partial<RetryOptions> = {},
): Promise<T> {
  const o: RetryOptions = { ...DEFAULT_RETRY, ...options };
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!o.shouldRetry(error) || o.signal?.aborted) throw error;
      if (attempt >= o.retries) {
        throw new RainstreamError(
          'RETRIES_EXHAUSTED',
          `gave up after ${attempt + 1} attempts: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      const delayMs = backoffDelay(attempt + 1, o, o.random);
      o.onRetry?.({ error, attempt: attempt + 1, delayMs });
      await o.sleep(delayMs, o.signal);
    }
  }
}

/**
 * Backoff for waiting out an outage: short first waits (a blip is over in a second), capped low enough
 * that a dependency coming back is noticed within a couple of seconds.
 */
export const OUTAGE_BACKOFF: Readonly<
  Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter'>
> = {
  initialDelayMs: 200,
  maxDelayMs: 2_000,
  factor: 2,
  jitter: 0.5,
};

/**
 * Runs `fn` until it succeeds, however long that takes: for outages, which are waited out rather than died
 * of. Errors `shouldRetry` refuses (default: none) are rethrown; `signal` ends the wait (rejecting with its
 * reason), which is how a stopping process gets out of it.
 */
export async function retryForever<T>(
  fn: (attempt: number) => Promise<T>,
  options: Partial<Omit<RetryOptions, 'retries'>> = {},
): Promise<T> {
  return retry(fn, { ...OUTAGE_BACKOFF, shouldRetry: () => true, ...options, retries: Infinity });
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
