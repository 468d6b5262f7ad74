/**
 * The API's cache of hot Redis reads against the real Redis: values come from memory until Redis says
 * they changed (CLIENT TRACKING), a missing key is tracked as well, a value is parsed once, and when the
 * invalidation connection is lost nothing stale is served: the cache is dropped, reads go to Redis, and
 * tracking comes back.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createTrackedCache, type TrackedCache } from '../../../api/services/tracked-cache.ts';
import { loadConfig } from '../../../lib/platform/config.ts';
import { createLogger } from '../../../lib/platform/log.ts';
import { createRedis, deleteByPrefix, type RedisHandle } from '../../../lib/platform/redis.ts';
import { endpointEnv, pollUntil } from '../../support/integration.ts';

const id = randomBytes(4).toString('hex');
let redis: RedisHandle;
let writer: RedisHandle;
let cache: TrackedCache;

beforeAll(async () => {
  const config = loadConfig({ ...endpointEnv(inject('endpoints')), REDIS_PREFIX: `t:tracked:${id}` });
  redis = createRedis(config.redis);
  writer = createRedis(config.redis);
  cache = createTrackedCache(redis, {
    logger: createLogger(config, undefined, { test: 'tracked-cache' }),
    name: `t-${id}`,
    retryDelayMs: 100,
  });
  await cache.ready();
});

afterAll(async () => {
  await cache?.close();
  await deleteByPrefix(redis.client, redis.prefix);
  await Promise.all([redis?.close(), writer?.close()]);
});

describe('tracked cache', () => {
  it('serves a value from memory until another client changes it', async () => {
    const key = redis.key('latest', 'a');
    await writer.client.set(key, 'v1');
    expect(await cache.get(key)).toBe('v1');
    const before = cache.stats();
    expect(await cache.get(key)).toBe('v1');
    expect(await cache.get(key)).toBe('v1');
    expect(cache.stats().hits - before.hits).toBe(2);
    expect(cache.stats().misses).toBe(before.misses);

    await writer.client.set(key, 'v2');
    await pollUntil(async () => (await cache.get(key)) === 'v2', { what: 'v2 read back' });
    await writer.client.del(key);
    await pollUntil(async () => (await cache.get(key)) === null, { what: 'the deletion read back' });
  });

  it('tracks a missing key: its first write is seen', async () => {
    const key = redis.key('latest', 'b');
    expect(await cache.get(key)).toBeNull();
    expect(await cache.get(key)).toBeNull();
    await writer.client.set(key, 'first');
    await pollUntil(async () => (await cache.get(key)) === 'first', { what: 'the first write' });
  });

  it('parses a value once, and again once it changed', async () => {
    const key = redis.key('station', 'c');
    await writer.client.set(key, '{"n":1}');
    let parses = 0;
    const parse = (text: string | null) => {
      parses++;
      return text === null ? null : (JSON.parse(text) as { n: number });
    };
    expect(await cache.getParsed(key, parse)).toEqual({ n: 1 });
    expect(await cache.getParsed(key, parse)).toEqual({ n: 1 });
    expect(parses).toBe(1);
    await writer.client.set(key, '{"n":2}');
    await pollUntil(async () => (await cache.getParsed(key, parse))?.n === 2, { what: 'n = 2' });
    const after = parses;
    await cache.getParsed(key, parse);
    expect(parses).toBe(after);
  });

  it('serves nothing stale when the invalidation connection is lost, and tracks again', async () => {
    const key = redis.key('latest', 'd');
    await writer.client.set(key, 'before');
    expect(await cache.get(key)).toBe('before');
    expect(cache.stats().entries).toBeGreaterThan(0);
    const clients = String(await writer.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const line = clients.split('\n').find((l) => l.includes(`name=t-${id}-invalidations`));
    expect(line).toBeDefined();
    const clientId = /\bid=(\d+)/.exec(line!)![1]!;
    await writer.client.client('KILL', 'ID', clientId);
    // The write below lands while no one listens for invalidations: the cache must not answer 'before'.
    await pollUntil(() => !cache.stats().tracking, { what: 'tracking stopped' });
    expect(cache.stats().entries).toBe(0);
    await writer.client.set(key, 'after');
    expect(await cache.get(key)).toBe('after');
    await cache.ready();
    await pollUntil(() => cache.stats().tracking, { what: 'tracking again' });
    expect(await cache.get(key)).toBe('after');
    await writer.client.set(key, 'later');
    await pollUntil(async () => (await cache.get(key)) === 'later', {
      what: 'a write after tracking resumed',
    });
  });
});
