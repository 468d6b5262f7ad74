import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, deleteByPrefix } from '../../../../lib/platform/redis.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';

let a: TestContext;
let b: TestContext;

beforeAll(async () => {
  [a, b] = await Promise.all([testContext('redis-a'), testContext('redis-b')]);
});

afterAll(async () => {
  await Promise.all([a?.cleanup(), b?.cleanup()]);
});

describe('redis', () => {
  it('keeps two prefixes apart for the same logical key', async () => {
    await a.redis.client.set(a.redis.key('champion'), 'm-1');
    await b.redis.client.set(b.redis.key('champion'), 'm-2');
    expect(a.redis.key('state', 'Albury', 7)).toBe(`${a.redis.prefix}:state:Albury:7`);
    expect(await a.redis.client.get(a.redis.key('champion'))).toBe('m-1');
    expect(await b.redis.client.get(b.redis.key('champion'))).toBe('m-2');
  });

  it('deletes only its own keys by prefix', async () => {
    const pipeline = a.redis.client.pipeline();
    for (let i = 0; i < 2_500; i++) pipeline.set(a.redis.key('state', `L${i}`), String(i));
    await pipeline.exec();
    const deleted = await deleteByPrefix(a.redis.client, a.redis.prefix);
    expect(deleted).toBe(2_501);
    expect(await a.redis.client.get(a.redis.key('champion'))).toBeNull();
    expect(await b.redis.client.get(b.redis.key('champion'))).toBe('m-2');
  });

  it('closes with QUIT, twice without error', async () => {
    const handle = createRedis(a.config.redis, { prefix: a.redis.prefix });
    expect(await handle.client.ping()).toBe('PONG');
    await handle.close();
    await handle.close();
    expect(handle.client.status).toBe('end');
  });
});
