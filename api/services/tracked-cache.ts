/**
 * Values the API reads on every request (a station's latest forecast, its feature window), kept in memory
 * and invalidated by Redis itself: server-assisted client-side caching (`CLIENT TRACKING ... REDIRECT`).
 * The predictor writes a station's latest forecast once per observed day; the API reads it thousands of
 * times a second: a round trip per read was a third of the API's CPU (bench:api).
 *
 * How it stays correct:
 * - every cached value was read on the `reader` connection, which Redis tracks: when any client changes
 *   or deletes that key (or the database is flushed), Redis sends its name to the `invalidations`
 *   connection (RESP2 pub/sub on `__redis__:invalidate`), and the entry is dropped;
 * - the invalidation and the reply to a read travel on different connections, so a key invalidated while
 *   its read is in flight is not cached from that read (the reply may predate the write);
 * - tracking lives in the connections: when either closes, invalidations may have been lost, so the whole
 *   cache is dropped and reads go straight to Redis (the ordinary shared client) until both connections
 *   are set up again afresh. A read never waits for the cache.
 * A missing key is cached as missing: Redis tracks it too, and its first write invalidates it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/platform/log.ts';
import type { RedisHandle } from '../../lib/platform/redis.ts';

const INVALIDATE_CHANNEL = '__redis__:invalidate';

export interface TrackedCacheStats {
  hits: number;
  misses: number;
  invalidations: number;
  /** Entries held now. */
  entries: number;
  /** Whether Redis is tracking the reads (false: every read goes to Redis). */
  tracking: boolean;
}

export interface TrackedCache {
  /** The key's value (null when missing), from memory while Redis has not said it changed. */
  get(key: string): Promise<string | null>;
  /**
   * `parse` of the key's value, parsed once per value read (the caller must not mutate the result: it is
   * shared by every request until the key changes).
   */
  getParsed<T>(key: string, parse: (text: string | null) => T): Promise<T>;
  /** Resolves once Redis tracks the reads (tests; the API serves before that, uncached). */
  ready(): Promise<void>;
  stats(): TrackedCacheStats;
  close(): Promise<void>;
}

export interface TrackedCacheOptions {
  logger: Logger;
  /** Above this many entries the cache starts afresh (the API reads one key per station: never, in practice). */
  maxEntries?: number;
  /** Wait before setting the connections up again after one closed. */
  retryDelayMs?: number;
  /** Names its two connections (`<name>-tracked-reads`, `<name>-invalidations`) in CLIENT LIST. */
  name?: string;
}

interface Entry {
  text: string | null;
  parse?: (text: string | null) => unknown;
  parsed?: unknown;
}

interface Connections {
  reader: Redis;
  invalidations: Redis;
}

export function createTrackedCache(redis: RedisHandle, options: TrackedCacheOptions): TrackedCache {
  const log = options.logger.child({ component: 'tracked-cache' });
  const maxEntries = options.maxEntries ?? 10_000;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const name = options.name ?? 'api';
  const entries = new Map<string, Entry>();
  /** Reads in flight on the tracked connection, by key; a key invalidated meanwhile is marked dirty. */
  const inFlight = new Map<string, Promise<string | null>>();
  const dirty = new Set<string>();
  const counts = { hits: 0, misses: 0, invalidations: 0 };
  let connections: Connections | null = null;
  let tracking = false;
  /** Bumped whenever tracking stops: reads begun before it must not fill the cache. */
  let epoch = 0;
  let closed = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let whenReady: { promise: Promise<void>; resolve: () => void } | null = null;
  const readySignal = () => {
    if (whenReady === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      whenReady = { promise, resolve };
    }
    return whenReady;
  };

  const dropAll = () => {
    entries.clear();
    for (const key of inFlight.keys()) dirty.add(key);
  };

  const invalidate = (keys: unknown) => {
    counts.invalidations++;
    // A flush of the database arrives as a null payload: everything goes.
    if (!Array.isArray(keys)) return dropAll();
    for (const k of keys) {
      const key = String(k);
      entries.delete(key);
      if (inFlight.has(key)) dirty.add(key);
    }
  };

  const stopTracking = (why: string, error?: unknown) => {
    if (connections === null) return;
    const old = connections;
    connections = null;
    if (tracking) log.warn({ err: error, why }, 'Redis no longer tracks the cached reads; cache dropped');
    tracking = false;
    whenReady = null;
    epoch++;
    dropAll();
    old.reader.disconnect();
    old.invalidations.disconnect();
    scheduleSetup();
  };

  const scheduleSetup = () => {
    if (closed || retryTimer !== null) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void setup();
    }, retryDelayMs);
    retryTimer.unref();
  };

  const setup = async () => {
    if (closed || connections !== null) return;
    // Neither connection reconnects by itself: a new connection would not be tracked (nor be the target of
    // the redirect), so both are set up again together instead.
    const common = { retryStrategy: () => null, maxRetriesPerRequest: 1, lazyConnect: true } as const;
    const mine: Connections = {
      reader: redis.client.duplicate({ ...common, connectionName: `${name}-tracked-reads` }),
      // RESP2: the invalidations arrive as pub/sub messages (ioredis drops RESP3 'invalidate' pushes).
      invalidations: redis.client.duplicate({
        ...common,
        protocol: 2,
        connectionName: `${name}-invalidations`,
      }),
    };
    connections = mine;
    for (const c of [mine.reader, mine.invalidations]) {
      c.on('error', () => undefined);
      c.on('close', () => {
        if (connections === mine) stopTracking('a connection closed');
      });
    }
    mine.invalidations.on('messageBuffer', (channel: Buffer, keys: unknown) => {
      if (connections === mine && String(channel) === INVALIDATE_CHANNEL) invalidate(keys);
    });
    try {
      await Promise.all([mine.reader.connect(), mine.invalidations.connect()]);
      const id = await mine.invalidations.client('ID');
      await mine.invalidations.subscribe(INVALIDATE_CHANNEL);
      await mine.reader.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id));
      if (connections !== mine) return;
      tracking = true;
      readySignal().resolve();
      log.debug('Redis tracks the cached reads');
    } catch (error) {
      if (connections === mine) stopTracking('setting up tracking failed', error);
    }
  };

  /** One read on the tracked connection, cached unless the key was invalidated meanwhile. */
  const readTracked = (key: string, reader: Redis): Promise<string | null> => {
    const pending = inFlight.get(key);
    if (pending) return pending;
    const startedIn = epoch;
    const read = reader.get(key).then(
      (text) => {
        inFlight.delete(key);
        const wasDirty = dirty.delete(key);
        if (!wasDirty && startedIn === epoch && tracking) {
          if (entries.size >= maxEntries) entries.clear();
          entries.set(key, { text });
        }
        return text;
      },
      (error: unknown) => {
        inFlight.delete(key);
        dirty.delete(key);
        throw error;
      },
    );
    inFlight.set(key, read);
    return read;
  };

  const get = async (key: string): Promise<string | null> => {
    const entry = entries.get(key);
    if (entry !== undefined) {
      counts.hits++;
      return entry.text;
    }
    counts.misses++;
    if (!tracking || connections === null) return redis.client.get(key);
    try {
      return await readTracked(key, connections.reader);
    } catch {
      // The tracked connection failed under this read (it is being set up again): the shared client's
      // own retries and typed errors decide.
      return redis.client.get(key);
    }
  };

  void setup();

  return {
    get,
    async getParsed<T>(key: string, parse: (text: string | null) => T): Promise<T> {
      const entry = entries.get(key);
      if (entry !== undefined && entry.parse === parse) {
        counts.hits++;
        return entry.parsed as T;
      }
      const text = await get(key);
      const parsed = parse(text);
      // Memoized on the entry only if it still holds this text (an invalidation may have come meanwhile).
      const now = entries.get(key);
      if (now !== undefined && now.text === text) {
        now.parse = parse;
        now.parsed = parsed;
      }
      return parsed;
    },
    ready: () => (tracking ? Promise.resolve() : readySignal().promise),
    stats: () => ({ ...counts, entries: entries.size, tracking }),
    async close() {
      closed = true;
      if (retryTimer !== null) clearTimeout(retryTimer);
      const c = connections;
      connections = null;
      tracking = false;
      entries.clear();
      if (c) {
        c.reader.disconnect();
        c.invalidations.disconnect();
      }
    },
  };
}
