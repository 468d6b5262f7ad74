import { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { isTransportError, RainstreamError } from './errors.ts';

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
    // A command waits through at most a few reconnection attempts, then fails (typed by redisError) so
    // the caller's own backoff takes over and reports the outage; reconnection goes on in the background,
    // at most a second apart, so a Redis that is back is used again within a second.
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    enableAutoPipelining: true,
  });
  // Without a listener ioredis prints every failed reconnection to stderr; the callers see typed errors.
  client.on('error', () => undefined);
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

/** Server replies that mean "not now" (loading a dump, a busy script, a failover), not "never". */
const RETRIABLE_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS)\b/;

/**
 * Maps an ioredis failure to ours: a connection that is away (closed, refused, out of reconnection
 * attempts) or a server that says "not now" is retriable; any other reply of the server (WRONGTYPE, a
 * script error, out of memory with noeviction) is an answer that retrying will not change.
 */
export function redisError(error: unknown, what: string): RainstreamError {
  if (error instanceof RainstreamError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : '';
  const retriable =
    name === 'MaxRetriesPerRequestError' ||
    isTransportError(error) ||
    /Connection is closed|Stream isn't writeable|enableOfflineQueue/i.test(message) ||
    (name === 'ReplyError' && RETRIABLE_REPLIES.test(message));
  return new RainstreamError('REDIS', `${what}: ${message}`, { cause: error, retriable });
}

/** Runs one Redis call, its failure typed by redisError. */
export async function withRedis<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw redisError(error, what);
  }
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

/** Every key under `<prefix>:<parts...>:`, by SCAN (never KEYS, which blocks a big keyspace). */
export async function keysUnder(redis: RedisHandle, ...parts: Array<string | number>): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.client.scan(
      cursor,
      'MATCH',
      `${escapeGlob(prefixedKey(redis.prefix, parts))}:*`,
      'COUNT',
      1000,
    );
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
