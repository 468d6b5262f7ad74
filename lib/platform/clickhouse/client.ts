import { ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config.ts';
import { isTransportError, RainstreamError } from '../errors.ts';

/**
 * What migrations and analytics need to run SQL: implemented by the server client below and, in tests,
 * by chDB, so the same code is proven on ClickHouse 18.16 and 26.x.
 */
export interface SqlRunner {
  /** Runs a statement that returns no rows (DDL, INSERT ... VALUES). */
  command(sql: string): Promise<void>;
  /** Runs a query and returns its rows as parsed JSONEachRow (64-bit integers may come as strings). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

export interface ClickHouse extends SqlRunner {
  readonly client: ClickHouseClient;
  readonly database: string;
  /** Inserts rows as JSONEachRow in chunks; resolves when the server has written them all. */
  insertRows(table: string, rows: readonly object[], options?: { batchSize?: number }): Promise<number>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const DEFAULT_INSERT_BATCH = 10_000;

/** Server error codes worth retrying: overload and network trouble, not bad SQL. */
const RETRIABLE_SERVER_CODES = new Set([
  '159', // TIMEOUT_EXCEEDED
  '164', // READONLY (a replica catching up)
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '209', // SOCKET_TIMEOUT
  '210', // NETWORK_ERROR
  '241', // MEMORY_LIMIT_EXCEEDED
  '252', // TOO_MANY_PARTS
  '425', // SYSTEM_ERROR
]);

/**
 * The server's error code: parsed by the client for current servers; 18.16 words its errors
 * ("Code: 62, e.displayText() = DB::Exception: ...") in a way the client does not parse, so read the text.
 */
function serverErrorCode(error: unknown): string | undefined {
  if (error instanceof ClickHouseError) return error.code;
  const match = error instanceof Error ? /^Code: (\d+)[,.]/.exec(error.message) : null;
  return match?.[1];
}

export function clickHouseError(error: unknown, what: string): RainstreamError {
  if (error instanceof RainstreamError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const serverCode = serverErrorCode(error);
  if (serverCode !== undefined) {
    const retriable = RETRIABLE_SERVER_CODES.has(serverCode);
    return new RainstreamError(retriable ? 'CLICKHOUSE' : 'CLICKHOUSE_QUERY', `${what}: ${message}`, {
      cause: error,
      retriable,
      details: { serverCode },
    });
  }
  // No server answer at all (refused, reset, timed out): the server may be back soon.
  return new RainstreamError('CLICKHOUSE', `${what}: ${message}`, { cause: error, retriable: true });
}

/**
 * Client-side lifetime of an idle keep-alive socket. ClickHouse closes an idle connection after its
 * keep_alive_timeout (3 s in 18.16 and in ops/clickhouse/server/config.xml; 10 s in current versions);
 * reusing a socket the server has just closed fails with EPIPE or ECONNRESET. The client's default
 * (2.5 s) leaves too little room on a busy 2-core machine, where the idle timer fires late: 1 s, and stale
 * sockets destroyed before use whatever the timers did.
 */
export const IDLE_SOCKET_TTL_MS = 1_000;

/**
 * A request that failed on the socket itself (EPIPE/ECONNRESET on a reused connection, a hang-up) is
 * tried again at once on a fresh socket: that is a property of keep-alive, not an outage. A refused
 * connection is an outage and goes straight to the caller, whose own backoff waits it out. Every
 * statement sent here is safe to repeat: inserts land in ReplacingMergeTree tables keyed by their rows,
 * DDL is IF NOT EXISTS, queries read.
 */
export async function withStaleSocketRetry<T>(call: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const refused = (error as { code?: unknown } | null)?.code === 'ECONNREFUSED';
      if (attempt >= attempts || refused || !isTransportError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

// The client writes the table name into INSERT as is: only plain (optionally database-qualified) names.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function preview(sql: string): string {
  const oneLine = sql.replace(/\s+/g, ' ').trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 120)}…` : oneLine;
}

export function createClickHouse(
  config: Config['clickhouse'],
  options: { database?: string; requestTimeoutMs?: number } = {},
): ClickHouse {
  const database = options.database ?? config.database;
  const client = createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    database,
    request_timeout: options.requestTimeoutMs ?? 60_000,
    // 18.16 rejects settings it does not know; the client sends none unless told to.
    clickhouse_settings: {},
    keep_alive: { enabled: true, idle_socket_ttl: IDLE_SOCKET_TTL_MS, eagerly_destroy_stale_sockets: true },
    // Every failure reaches the caller as a typed error, who decides whether it is worth a log line.
    log: { level: ClickHouseLogLevel.OFF },
  });
  return {
    client,
    database,
    async command(sql) {
      try {
        await withStaleSocketRetry(() => client.command({ query: sql }));
      } catch (error) {
        throw clickHouseError(error, preview(sql));
      }
    },
    async rows<T>(sql: string) {
      try {
        return await withStaleSocketRetry(async () => {
          const result = await client.query({ query: sql, format: 'JSONEachRow' });
          return await result.json<T>();
        });
      } catch (error) {
        throw clickHouseError(error, preview(sql));
      }
    },
    async insertRows(table, rows, insertOptions = {}) {
      if (!TABLE_NAME.test(table)) throw new RainstreamError('VALIDATION', `not a table name: ${table}`);
      const batchSize = insertOptions.batchSize ?? DEFAULT_INSERT_BATCH;
      for (let start = 0; start < rows.length; start += batchSize) {
        try {
          const values = rows.slice(start, start + batchSize);
          await withStaleSocketRetry(() => client.insert({ table, values, format: 'JSONEachRow' }));
        } catch (error) {
          throw clickHouseError(error, `insert into ${table}`);
        }
      }
      return rows.length;
    },
    async ping() {
      const result = await withStaleSocketRetry(() => client.ping());
      return result.success;
    },
    close: () => client.close(),
  };
}
