/**
 * The analytics answers' cache against the real ClickHouse: an answer is reused while the database's parts
 * are unchanged, and computed again once a row is written; failures are not kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResultCache } from '../../../api/services/result-cache.ts';
import { testContext, type TestContext } from '../../support/integration.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await testContext('result-cache');
  await ctx.clickhouse.command('CREATE TABLE cache_probe (n UInt32) ENGINE = MergeTree ORDER BY n');
}, 60_000);

afterAll(async () => {
  await ctx?.cleanup();
});

describe('result cache', () => {
  it('reuses an answer until a row is written, and never keeps a failure', async () => {
    const cache = createResultCache(ctx.clickhouse);
    let computed = 0;
    const count = () =>
      cache.get('count', async () => {
        computed++;
        const [row] = await ctx.clickhouse.rows<{ n: string }>('SELECT count() AS n FROM cache_probe');
        return Number(row!.n);
      });
    expect(await count()).toBe(0);
    expect(await count()).toBe(0);
    expect(computed).toBe(1);

    await ctx.clickhouse.insertRows('cache_probe', [{ n: 1 }, { n: 2 }]);
    expect(await count()).toBe(2);
    expect(computed).toBe(2);
    expect(await count()).toBe(2);
    expect(computed).toBe(2);

    // Concurrent identical requests share one computation.
    await ctx.clickhouse.insertRows('cache_probe', [{ n: 3 }]);
    expect(await Promise.all([count(), count(), count()])).toEqual([3, 3, 3]);
    expect(computed).toBe(3);

    let attempts = 0;
    const failing = () =>
      cache.get('failing', async () => {
        attempts++;
        throw new Error('no answer');
      });
    await expect(failing()).rejects.toThrow('no answer');
    await expect(failing()).rejects.toThrow('no answer');
    expect(attempts).toBe(2);
  });
});
