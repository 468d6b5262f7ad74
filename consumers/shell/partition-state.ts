/**
 * A keyed stage's state in Redis, per input partition: the stations' states (one JSON value each) and a
 * marker, the offset of the input partition up to which those states reflect the log. The marker moves
 * with the states in one atomic script, and only from the value the writer last saw: a member that lost
 * the partition (a zombie still finishing a batch) cannot overwrite what the new owner wrote.
 *
 * While a member owns a partition, nobody else writes that partition's states, so what it last saved or
 * read is what Redis holds: the store keeps those texts per partition and reads Redis only for entities it
 * has not seen, which takes a round trip off nearly every batch. The texts are parsed again on each load (a
 * step never sees an object a failed batch may have changed). `forget(partition)` drops a partition's
 * texts; the runtime calls it whenever it verifies the partition (an assignment, a failed transaction), and
 * a refused save drops them too, so a state another owner wrote is always read from Redis.
 */
import type { RedisHandle } from '../../lib/platform/redis.ts';
import { withRedis } from '../../lib/platform/redis.ts';

export interface StateCodec<S> {
  /** Key parts of an entity's state (under the deployment's prefix). */
  keyOf(id: string): readonly (string | number)[];
  /** The stored state, or null when it is not one this code can use (the entity then starts afresh). */
  parse(text: string, id: string): S | null;
  serialize(state: S): string;
}

export interface PartitionStateStore<S> {
  marker(partition: number): Promise<bigint | null>;
  /** The states of `ids`, all of entities of `partition`. */
  load(partition: number, ids: readonly string[]): Promise<Map<string, S | null>>;
  /**
   * Writes `states` (null deletes) and moves the partition's marker from `expected` to `next`, atomically.
   * Resolves false, writing nothing, when the marker is no longer `expected`: someone else owns it now.
   */
  save(
    partition: number,
    expected: bigint | null,
    next: bigint,
    states: ReadonlyMap<string, S | null>,
  ): Promise<boolean>;
  /** Drops what the store remembers of the partition's states: the next load reads them from Redis. */
  forget(partition: number): void;
}

/** Compare-and-set of the marker, then the states: KEYS = [marker, ...states], ARGV = [expected, next, ...values]. */
const SAVE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
for i = 2, #KEYS do
  local value = ARGV[i + 1]
  if value == '' then redis.call('DEL', KEYS[i]) else redis.call('SET', KEYS[i], value) end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

export function markerKey(redis: RedisHandle, stage: string, topic: string, partition: number): string {
  return redis.key(stage, 'log-position', topic, partition);
}

export function createPartitionStateStore<S>(
  redis: RedisHandle,
  stage: string,
  topic: string,
  codec: StateCodec<S>,
  onCorrupt: (id: string, error: unknown) => void = () => undefined,
): PartitionStateStore<S> {
  const stateKey = (id: string) => redis.key(...codec.keyOf(id));
  /** Per partition: each entity's stored text as this owner last read or wrote it (null: none stored). */
  const known = new Map<number, Map<string, string | null>>();
  const knownOf = (partition: number) => {
    let texts = known.get(partition);
    if (!texts) known.set(partition, (texts = new Map()));
    return texts;
  };
  // A value that does not parse is as good as none: the step starts that entity afresh, and the caller
  // hears of it (a state this code cannot read is a bug or a tampering, never a record's fault).
  const parsed = (raw: string | null, id: string): S | null => {
    if (raw === null) return null;
    try {
      return codec.parse(raw, id);
    } catch (error) {
      onCorrupt(id, error);
      return null;
    }
  };
  return {
    async marker(partition) {
      const value = await withRedis(`reading the ${stage} state marker`, () =>
        redis.client.get(markerKey(redis, stage, topic, partition)),
      );
      return value === null ? null : BigInt(value);
    },
    async load(partition, ids) {
      const states = new Map<string, S | null>();
      const texts = knownOf(partition);
      const unknown = ids.filter((id) => !texts.has(id));
      if (unknown.length > 0) {
        const values = await withRedis(`loading ${unknown.length} ${stage} states`, () =>
          redis.client.mget(...unknown.map(stateKey)),
        );
        unknown.forEach((id, i) => texts.set(id, values[i] ?? null));
      }
      for (const id of ids) states.set(id, parsed(texts.get(id) ?? null, id));
      return states;
    },
    async save(partition, expected, next, states) {
      const keys = [markerKey(redis, stage, topic, partition)];
      const args = [expected === null ? '' : String(expected), String(next)];
      const written: Array<[string, string | null]> = [];
      for (const [id, state] of states) {
        keys.push(stateKey(id));
        const text = state === null ? null : codec.serialize(state);
        args.push(text ?? '');
        written.push([id, text]);
      }
      const saved = await withRedis(`saving ${states.size} ${stage} states`, () =>
        redis.client.eval(SAVE_SCRIPT, keys.length, ...keys, ...args),
      );
      if (saved !== 1) {
        known.delete(partition);
        return false;
      }
      const texts = knownOf(partition);
      for (const [id, text] of written) texts.set(id, text);
      return true;
    },
    forget(partition) {
      known.delete(partition);
    },
  };
}
