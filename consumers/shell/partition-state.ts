/**
 * A keyed stage's state in Redis, per input partition: the stations' states (one JSON value each) and a
 * marker, the offset of the input partition up to which those states reflect the log. The marker moves
 * with the states in one atomic script, and only from the value the writer last saw: a member that lost
 * the partition (a zombie still finishing a batch) cannot overwrite what the new owner wrote.
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
  load(ids: readonly string[]): Promise<Map<string, S | null>>;
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
  return {
    async marker(partition) {
      const value = await withRedis(`reading the ${stage} state marker`, () =>
        redis.client.get(markerKey(redis, stage, topic, partition)),
      );
      return value === null ? null : BigInt(value);
    },
    async load(ids) {
      const states = new Map<string, S | null>();
      if (ids.length === 0) return states;
      const values = await withRedis(`loading ${ids.length} ${stage} states`, () =>
        redis.client.mget(...ids.map(stateKey)),
      );
      // A value that does not parse is as good as none: the step starts that entity afresh, and the
      // caller hears of it (a state this code cannot read is a bug or a tampering, never a record's fault).
      ids.forEach((id, i) => {
        const raw = values[i];
        if (raw === null || raw === undefined) return states.set(id, null);
        try {
          states.set(id, codec.parse(raw, id));
        } catch (error) {
          onCorrupt(id, error);
          states.set(id, null);
        }
      });
      return states;
    },
    async save(partition, expected, next, states) {
      const keys = [markerKey(redis, stage, topic, partition)];
      const args = [expected === null ? '' : String(expected), String(next)];
      for (const [id, state] of states) {
        keys.push(stateKey(id));
        args.push(state === null ? '' : codec.serialize(state));
      }
      const written = await withRedis(`saving ${states.size} ${stage} states`, () =>
        redis.client.eval(SAVE_SCRIPT, keys.length, ...keys, ...args),
      );
      return written === 1;
    },
  };
}
