import { Redis } from 'ioredis';
import type { Config } from './config.ts';

export interface RedisHandle {
  readonly client: Redis;
  readonly prefix: string;
  /** `<prefix>:<part>:<part>...`: every key of this deployment (or test) lives under the prefix. */
  key(...parts: Array<string | number>): string;
  close(): Promise<void>;
}

export function prefixedKey(prefix: string, parts: ReadonlyArray<string | number>): string {
  return [prefix, ...parts].join(':');
}

/**
 * Keys are prefixed by `key()` rather than ioredis's `keyPrefix` option, which does not apply to the
 * patterns of SCAN/KEYS and so would make cleanup code silently miss keys.
 */
export function createRedis(
  config: Config['redis'],
  options: { prefix?: string; connectionName?: string } = {},
): RedisHandle {
  const client = new Redis(config.url, {
    connectionName: options.connectionName,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
  });
  const prefix = options.prefix ?? config.prefix;
  return {
    client,
    prefix,
    key: (...parts) => prefixedKey(prefix, parts),
    async close() {
      if (client.status === 'end') return;
      try {
        await client.quit();
      } catch {
        // quit() fails when the connection is already gone; there is nothing left to close then.
        client.disconnect();
      }
    },
  };
}

/** Deletes every key under `prefix:` (tests and resets); SCAN, never KEYS, so a big keyspace is not blocked. */
export async function deleteByPrefix(client: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
