/**
 * Per-entity state in Redis for the stages that run outside the transactional runtime (alerts, drift):
 * one MGET to load a batch's entities, one MULTI to save them, Redis failures typed (retriable) so the
 * consumer shell waits an outage out.
 */
import { withRedis, type RedisHandle } from '../../lib/platform/redis.ts';

/** MGET of the states of `ids`, parsed; a missing key gives null. */
export async function loadStates<S>(
  redis: RedisHandle,
  keyOf: (id: string) => readonly string[],
  ids: readonly string[],
  parse: (text: string, id: string) => S | null,
): Promise<Map<string, S | null>> {
  const states = new Map<string, S | null>();
  if (ids.length === 0) return states;
  const values = await withRedis(`loading ${ids.length} states`, () =>
    redis.client.mget(...ids.map((id) => redis.key(...keyOf(id)))),
  );
  ids.forEach((id, i) => {
    const raw = values[i];
    states.set(id, raw === null || raw === undefined ? null : parse(raw, id));
  });
  return states;
}

/** Writes states (and any extra keys) in one MULTI, so a crash leaves either all or none of a batch. */
export async function saveStates<S>(
  redis: RedisHandle,
  keyOf: (id: string) => readonly string[],
  states: ReadonlyMap<string, S | null>,
  serialize: (state: S) => string = JSON.stringify,
  extra: ReadonlyArray<readonly [key: string, value: string]> = [],
): Promise<void> {
  if (states.size === 0 && extra.length === 0) return;
  await withRedis(`saving ${states.size} states`, async () => {
    const multi = redis.client.multi();
    for (const [id, state] of states) {
      const key = redis.key(...keyOf(id));
      if (state === null) multi.del(key);
      else multi.set(key, serialize(state));
    }
    for (const [key, value] of extra) multi.set(key, value);
    await multi.exec();
  });
}
