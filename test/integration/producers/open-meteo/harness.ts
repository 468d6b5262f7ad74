/**
 * The real Open-Meteo client wired to the stand-in server, on a virtual clock shared by both: sleeps
 * (backoff, the limiter, Retry-After) advance it at once and are recorded, so a test checks how long the
 * client chose to wait without waiting. Only the HTTP timeout runs on real time.
 */
import type { FetchDaysDeps } from '../../../../producers/open-meteo/fetch-days.ts';
import { createOpenMeteoCounters } from '../../../../producers/open-meteo/counters.ts';
import {
  SlidingWindowLimiter,
  type Clock,
  type RateWindow,
} from '../../../../producers/open-meteo/rate-limiter.ts';
import type { LiveStation } from '../../../../producers/open-meteo/stations.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import {
  startOpenMeteoStandIn,
  type Labelling,
  type OpenMeteoStandIn,
} from '../../../support/open-meteo-server.ts';

export const marrakech: LiveStation = {
  name: 'Marrakech',
  latitude: 31.6295,
  longitude: -7.9811,
  timezone: 'Africa/Casablanca',
};
export const sydney: LiveStation = {
  name: 'SydneyLive',
  latitude: -33.8688,
  longitude: 151.2093,
  timezone: 'Australia/Sydney',
};

export interface VirtualClock extends Clock {
  readonly slept: number[];
}

export function virtualClock(start: number): VirtualClock {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      slept.push(ms);
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

export interface Harness {
  server: OpenMeteoStandIn;
  clock: VirtualClock;
  deps: FetchDaysDeps;
}

export async function startHarness(
  o: { now: number; labels?: Labelling; timeoutMs?: number; windows?: RateWindow[] } & Partial<FetchDaysDeps>,
): Promise<Harness> {
  const clock = virtualClock(o.now);
  const server = await startOpenMeteoStandIn({ now: clock.now, labels: o.labels });
  const deps: FetchDaysDeps = {
    archiveUrl: server.archiveUrl,
    forecastUrl: server.forecastUrl,
    timeoutMs: o.timeoutMs ?? 10_000,
    limiter: new SlidingWindowLimiter(o.windows),
    counters: createOpenMeteoCounters(),
    clock,
    retry: { random: () => 0.5, ...o.retry },
    ...(o.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: o.maxRetryAfterMs }),
    ...(o.chunkDays === undefined ? {} : { chunkDays: o.chunkDays }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  };
  return { server, clock, deps };
}

/** Every date from `from` to `to`, both included. */
export function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}
