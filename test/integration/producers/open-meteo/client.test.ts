import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isRainstreamError, RainstreamError } from '../../../../lib/platform/errors.ts';
import { fetchOpenMeteo } from '../../../../producers/open-meteo/client.ts';
import { callWeight } from '../../../../producers/open-meteo/request.ts';
import { marrakech, startHarness, type Harness } from './harness.ts';

const NOW = Date.UTC(2025, 0, 15, 10);
const request = {
  mode: 'archive',
  station: marrakech,
  startDate: '2024-01-01',
  endDate: '2024-01-31',
} as const;
const WEIGHT = callWeight(13, 31);

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

async function failure(promise: Promise<unknown>): Promise<RainstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RainstreamError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('fetchOpenMeteo against the stand-in', () => {
  it('returns the body exactly as sent, with the weight spent', async () => {
    h = await startHarness({ now: NOW });
    const answer = await fetchOpenMeteo(request, h.deps);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/application\/json/);
    expect(answer.body).toBe(h.server.answers[0]!.body);
    expect(answer.attempts).toBe(1);
    expect(answer.fetchedAt).toBe(new Date(NOW).toISOString());
    const params = h.server.requests[0]!.params;
    expect(h.server.requests[0]!.endpoint).toBe('/v1/archive');
    expect(params.get('start_date')).toBe('2024-01-01');
    expect(params.get('timezone')).toBe('Africa/Casablanca');
    expect(h.deps.counters).toMatchObject({ requests: 1, responsesOk: 1, retries: 0 });
    expect(h.deps.counters.weight).toBeCloseTo(WEIGHT);
  });

  it("surfaces Open-Meteo's error body as a non-retriable error with the reason, after one call", async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({
      kind: 'error-body',
      reason: "Parameter 'start_date' is out of allowed range from 1940-01-01",
    });
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.code).toBe('UPSTREAM_REJECTED');
    expect(e.retriable).toBe(false);
    expect(e.details.reason).toBe("Parameter 'start_date' is out of allowed range from 1940-01-01");
    expect(h.server.requests).toHaveLength(1);
    expect(h.deps.counters).toMatchObject({ requests: 1, apiErrors: 1, failedRequests: 1, retries: 0 });
  });

  it('waits out a 429 for its Retry-After, holding the limiter, then succeeds', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({ kind: 'rate-limit', retryAfter: '30' });
    const answer = await fetchOpenMeteo(request, h.deps);
    expect(answer.attempts).toBe(2);
    expect(h.server.requests).toHaveLength(2);
    // Backoff (1 s, jittered) and then the limiter's hold until 30 s after the 429.
    expect(h.clock.slept.reduce((a, b) => a + b, 0)).toBe(30_000);
    expect(h.deps.counters).toMatchObject({ rateLimited: 1, retries: 1, responsesOk: 1, failedRequests: 0 });
    expect(h.deps.counters.throttledMs).toBeGreaterThan(0);
  });

  it('backs off exponentially on a 429 without Retry-After', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({ kind: 'rate-limit' }, { kind: 'rate-limit' });
    await fetchOpenMeteo(request, h.deps);
    // random 0.5 with jitter 0.5: 75% of 1 s, then of 2 s.
    expect(h.clock.slept).toEqual([750, 1500]);
    expect(h.deps.counters).toMatchObject({ rateLimited: 2, retries: 2 });
  });

  it('hands a Retry-After beyond its patience to the caller instead of waiting', async () => {
    h = await startHarness({ now: NOW, maxRetryAfterMs: 60_000 });
    h.server.inject({ kind: 'rate-limit', retryAfter: '3600' });
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retriable).toBe(true);
    expect(e.details.retryAfterMs).toBe(3_600_000);
    expect(h.server.requests).toHaveLength(1);
    // The limiter keeps the server's word for whoever calls next.
    expect(h.deps.limiter.delayFor(1, NOW)).toBe(3_600_000);
  });

  it('caps an absurd Retry-After at a day, so the limiter does not hold every later call for good', async () => {
    h = await startHarness({ now: NOW });
    for (const retryAfter of ['9'.repeat(400), 'Fri, 31 Dec 9999 23:59:59 GMT']) {
      h.server.inject({ kind: 'rate-limit', retryAfter });
      const e = await failure(fetchOpenMeteo(request, h.deps));
      expect(e.code).toBe('RATE_LIMITED');
      expect(e.retriable).toBe(true);
      expect(e.details.retryAfter).toBe(retryAfter);
      const wait = h.deps.limiter.delayFor(1, h.clock.now());
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(86_400_000);
      h.clock.slept.push(wait);
      await h.clock.sleep(wait);
    }
    // A day later the API is called again.
    expect((await fetchOpenMeteo(request, h.deps)).status).toBe(200);
  });

  it('waits out a 503 for its Retry-After, holding the limiter, then succeeds', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({ kind: 'raw', status: 503, body: 'busy', retryAfter: '30' });
    const answer = await fetchOpenMeteo(request, h.deps);
    expect(answer.attempts).toBe(2);
    // Backoff (1 s, jittered) and then the limiter's hold until 30 s after the 503, as for a 429.
    expect(h.clock.slept.reduce((a, b) => a + b, 0)).toBe(30_000);
    expect(h.deps.counters).toMatchObject({ httpErrors: 1, rateLimited: 0, retries: 1, responsesOk: 1 });
    expect(h.deps.counters.throttledMs).toBeGreaterThan(0);
  });

  it('reads a 503 Retry-After given as an HTTP date, and ignores one on a 500', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject(
      { kind: 'raw', status: 503, body: 'busy', retryAfter: new Date(NOW + 45_000).toUTCString() },
      { kind: 'raw', status: 500, body: 'oops', retryAfter: '3600' },
    );
    const answer = await fetchOpenMeteo(request, h.deps);
    expect(answer.attempts).toBe(3);
    // 45 s for the 503 (its backoff within them); the 500's Retry-After means nothing: backoff only.
    expect(h.clock.slept).toEqual([750, 44_250, 1500]);
  });

  it('hands a 503 Retry-After beyond its patience to the caller instead of waiting', async () => {
    h = await startHarness({ now: NOW, maxRetryAfterMs: 60_000 });
    h.server.inject({ kind: 'raw', status: 503, body: 'busy', retryAfter: '3600' });
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(e.retriable).toBe(true);
    expect(e.details).toMatchObject({ status: 503, retryAfterMs: 3_600_000, retryAfter: '3600' });
    expect(h.server.requests).toHaveLength(1);
    expect(h.clock.slept).toEqual([]);
    expect(h.deps.limiter.delayFor(1, NOW)).toBe(3_600_000);
  });

  it('caps an absurd 503 Retry-After at a day', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({ kind: 'raw', status: 503, body: 'busy', retryAfter: '9'.repeat(400) });
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.details.retryAfterMs).toBe(86_400_000);
    expect(h.deps.limiter.delayFor(1, NOW)).toBe(86_400_000);
  });

  it('refuses a redirect loop after one attempt, not as an outage to retry', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({ kind: 'redirect' });
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.code).toBe('UPSTREAM_REJECTED');
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/redirect/);
    expect(h.deps.counters).toMatchObject({ retries: 0, failedRequests: 1 });
  });

  it('follows a single redirect', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({ kind: 'redirect', location: new URL(h.deps.archiveUrl).pathname + '?moved=1' });
    // The redirect drops the query: the stand-in refuses it with its error body, which is what we see.
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.code).toBe('UPSTREAM_REJECTED');
    expect(e.details.apiError).toBe(true);
  });

  it('refuses an answer too large to keep on the raw topic without reading it whole, after one attempt', async () => {
    h = await startHarness({ now: NOW });
    const body = `{"pad":"${'x'.repeat(3_000_000)}"}`;
    h.server.inject({ kind: 'raw', status: 200, body });
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/larger than/);
    expect(e.details.url).toContain('/v1/archive');
    expect(h.server.requests).toHaveLength(1);
    expect(h.deps.counters).toMatchObject({ retries: 0, failedRequests: 1, responsesOk: 0 });
  });

  it('retries a 503 whatever the size of its page', async () => {
    h = await startHarness({ now: NOW });
    h.server.inject({ kind: 'raw', status: 503, body: `<html>${'busy '.repeat(1_000_000)}</html>` });
    const answer = await fetchOpenMeteo(request, h.deps);
    expect(answer.attempts).toBe(2);
    expect(h.deps.counters).toMatchObject({ httpErrors: 1, retries: 1, responsesOk: 1 });
  });

  it('recovers from 500s, and gives up after its retries with the last cause', async () => {
    h = await startHarness({ now: NOW, retry: { retries: 2 } });
    h.server.inject(
      { kind: 'raw', status: 500, body: 'Internal Server Error' },
      { kind: 'raw', status: 502, body: '' },
    );
    expect((await fetchOpenMeteo(request, h.deps)).attempts).toBe(3);
    expect(h.deps.counters).toMatchObject({ httpErrors: 2, retries: 2, responsesOk: 1 });

    h.server.inject(
      ...Array.from({ length: 3 }, () => ({ kind: 'raw', status: 503, body: 'down' }) as const),
    );
    const e = await failure(fetchOpenMeteo(request, h.deps));
    expect(e.code).toBe('RETRIES_EXHAUSTED');
    expect(isRainstreamError(e.cause, 'UPSTREAM_UNAVAILABLE')).toBe(true);
    expect((e.cause as RainstreamError).details.status).toBe(503);
    expect(h.deps.counters.failedRequests).toBe(1);
  });

  it('times out an answer that never comes, and retries', async () => {
    h = await startHarness({ now: NOW, timeoutMs: 300 });
    h.server.inject({ kind: 'hang' });
    const answer = await fetchOpenMeteo(request, h.deps);
    expect(answer.attempts).toBe(2);
    expect(h.deps.counters).toMatchObject({ timeouts: 1, retries: 1, responsesOk: 1 });
  });

  it('times out a body that stops midway, and retries', async () => {
    h = await startHarness({ now: NOW, timeoutMs: 300 });
    h.server.inject({ kind: 'stall-body', bytes: 1000 });
    const answer = await fetchOpenMeteo(request, h.deps);
    expect(answer.attempts).toBe(2);
    expect(answer.body).toBe(h.server.answers[1]!.body);
    expect(h.deps.counters).toMatchObject({ timeouts: 1, retries: 1, responsesOk: 1 });
  });

  it('reports a server that is not there as UPSTREAM_UNAVAILABLE', async () => {
    h = await startHarness({ now: NOW, retry: { retries: 1 } });
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const e = await failure(
      fetchOpenMeteo(request, { ...h.deps, archiveUrl: `http://127.0.0.1:${port}/v1/archive` }),
    );
    expect(e.code).toBe('RETRIES_EXHAUSTED');
    expect(isRainstreamError(e.cause, 'UPSTREAM_UNAVAILABLE')).toBe(true);
    expect(h.deps.counters.networkErrors).toBe(2);
  });

  it('spaces calls by the limiter', async () => {
    h = await startHarness({ now: NOW, windows: [{ name: 'minute', windowMs: 60_000, limit: 6 }] });
    await fetchOpenMeteo(request, h.deps);
    await fetchOpenMeteo(request, h.deps);
    expect(h.clock.slept).toEqual([]);
    // 2 x 2.88 used of 6: the third waits for the first to leave the minute.
    await fetchOpenMeteo(request, h.deps);
    expect(h.clock.slept).toEqual([60_000]);
    expect(h.deps.counters.throttledMs).toBe(60_000);
  });

  it('stops at once when aborted, without counting a failure', async () => {
    const controller = new AbortController();
    h = await startHarness({ now: NOW, signal: controller.signal });
    h.server.inject({ kind: 'hang' });
    const pending = fetchOpenMeteo(request, h.deps);
    const poll = setInterval(() => {
      if (h?.server.requests.length) controller.abort(new Error('shutting down'));
    }, 5);
    await expect(pending).rejects.toThrow('shutting down');
    clearInterval(poll);
    expect(h.deps.counters).toMatchObject({ failedRequests: 0, timeouts: 0, retries: 0 });
  });
});
