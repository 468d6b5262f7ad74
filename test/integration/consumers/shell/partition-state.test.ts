/**
 * The partition state store against a real Redis: the compare-and-set of the marker, and what the store
 * remembers of the states it saved (read from Redis again after `forget` or after a save another owner
 * refused).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPartitionStateStore, type StateCodec } from '../../../../consumers/shell/partition-state.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';

interface Counter {
  n: number;
}

const codec: StateCodec<Counter> = {
  keyOf: (id) => ['state', id],
  parse: (text) => JSON.parse(text) as Counter,
  serialize: (state) => JSON.stringify(state),
};

let ctx: TestContext;
beforeAll(async () => {
  ctx = await testContext('partition-state');
});
afterAll(async () => {
  await ctx?.cleanup();
});

describe('partition state store', () => {
  it('reads an entity from Redis once while it owns the partition, until it forgets', async () => {
    const store = createPartitionStateStore(ctx.redis, 'st', 'topic-a', codec);
    expect(await store.save(0, null, 5n, new Map([['Albury', { n: 1 }]]))).toBe(true);
    // Written behind the owner's back (nobody else owns the partition, so this cannot happen in a run):
    // the owner answers what it saved, without a round trip.
    await ctx.redis.client.set(ctx.redis.key('state', 'Albury'), JSON.stringify({ n: 99 }));
    const first = await store.load(0, ['Albury']);
    expect(first.get('Albury')).toEqual({ n: 1 });
    // Each load is a fresh object: a failed batch's changes to it never reach the next batch.
    first.get('Albury')!.n = 42;
    expect((await store.load(0, ['Albury'])).get('Albury')).toEqual({ n: 1 });
    // Verifying the partition again forgets it: Redis answers.
    store.forget(0);
    expect((await store.load(0, ['Albury'])).get('Albury')).toEqual({ n: 99 });
    expect((await store.load(0, ['Nowhere'])).get('Nowhere')).toBeNull();
  });

  it("after a save another owner refused, reads that owner's states from Redis", async () => {
    const former = createPartitionStateStore(ctx.redis, 'st', 'topic-b', codec);
    const next = createPartitionStateStore(ctx.redis, 'st', 'topic-b', codec);
    expect(await former.save(1, null, 10n, new Map([['Darwin', { n: 1 }]]))).toBe(true);
    expect((await former.load(1, ['Darwin'])).get('Darwin')).toEqual({ n: 1 });
    // The partition moved: its new owner read the marker (10) and wrote on from there.
    expect(await next.save(1, 10n, 20n, new Map([['Darwin', { n: 2 }]]))).toBe(true);
    // The former owner, still finishing a batch, is refused, and stops trusting what it remembers.
    expect(await former.save(1, 10n, 15n, new Map([['Darwin', { n: 7 }]]))).toBe(false);
    expect(await former.marker(1)).toBe(20n);
    expect((await former.load(1, ['Darwin'])).get('Darwin')).toEqual({ n: 2 });
  });

  it('keeps partitions apart: forgetting one leaves the other remembered', async () => {
    const store = createPartitionStateStore(ctx.redis, 'st', 'topic-c', codec);
    await store.save(0, null, 1n, new Map([['Perth', { n: 1 }]]));
    await store.save(1, null, 1n, new Map([['Hobart', { n: 1 }]]));
    await ctx.redis.client.set(ctx.redis.key('state', 'Perth'), JSON.stringify({ n: 5 }));
    await ctx.redis.client.set(ctx.redis.key('state', 'Hobart'), JSON.stringify({ n: 5 }));
    store.forget(1);
    expect((await store.load(0, ['Perth'])).get('Perth')).toEqual({ n: 1 });
    expect((await store.load(1, ['Hobart'])).get('Hobart')).toEqual({ n: 5 });
  });
});
