/**
 * Avro records through a Confluent-compatible schema registry: registration under a subject, the wire
 * format (magic byte, schema id, body), and a codec over any catalogue of record kinds (the domain's
 * events are one: lib/domain/events.ts). Nothing here knows what the records mean.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config.ts';
import { RainstreamError } from './errors.ts';

/** Confluent's TopicNameStrategy: the value schema of topic T is registered under `T-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** Confluent wire format: magic byte 0, schema id as a big-endian int32, then the Avro body. */
const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export function readWireHeader(buffer: Buffer): { schemaId: number; body: Buffer } {
  if (buffer.length < HEADER_BYTES) {
    throw new RainstreamError('DECODE', `record of ${buffer.length} bytes is shorter than the wire header`);
  }
  if (buffer[0] !== MAGIC_BYTE) {
    throw new RainstreamError('DECODE', `unknown magic byte ${buffer[0]}: not a schema-registry record`);
  }
  return { schemaId: buffer.readInt32BE(1), body: buffer.subarray(HEADER_BYTES) };
}

export function writeWireHeader(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(schemaId, 1);
  body.copy(out, HEADER_BYTES);
  return out;
}

/** What the codec needs of an Avro type; the avsc types the registry client builds have it. */
interface AvroType {
  toBuffer(value: unknown): Buffer;
  fromBuffer(buffer: Buffer, resolver?: unknown, noCheck?: boolean): unknown;
  isValid(value: unknown, options?: { errorHook: (path: string[], value: unknown) => void }): boolean;
  createResolver(writer: AvroType): unknown;
}

/** Record kinds (names) to the TypeScript type each decodes to and encodes from. */
export type KindTypes = object;
type KindOf<T extends KindTypes> = keyof T & string;

export interface Codec<T extends KindTypes> {
  /** Schema id of each kind as registered (the local schema files). */
  readonly schemaIds: Readonly<Record<KindOf<T>, number>>;
  /**
   * Avro-encodes `value` under its kind's schema, with the Confluent header. Synchronous: ids are known
   * after registration. Throws a non-retriable ENCODE error naming the first invalid field.
   */
  encode<K extends KindOf<T>>(kind: K, value: T[K]): Buffer;
  /**
   * Decodes a record into the local schema of `kind`, resolving from the writer's schema when a
   * producer used another version. Throws a non-retriable DECODE error for anything that is not a
   * record of that kind (the caller DLQs it), a retriable REGISTRY_UNAVAILABLE when the registry
   * cannot be reached to fetch an unknown writer schema.
   */
  decode<K extends KindOf<T>>(kind: K, buffer: Buffer): Promise<T[K]>;
}

export function createSchemaRegistry(config: Pick<Config, 'registry'>): SchemaRegistry {
  return new SchemaRegistry({ host: config.registry.url, retry: { retries: 2 } });
}

const NETWORK_FAILURE =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)\b|socket hang up|timed? ?out/i;

/** Maps a registry client error to ours: refused schema changes are final, an unreachable registry is not. */
export function registryError(error: unknown, what: string): RainstreamError {
  if (error instanceof RainstreamError) return error;
  const status =
    typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  const message = error instanceof Error ? error.message : String(error);
  // The client's HTTP layer (mappersmith) reports a failed connection as a response with status 400
  // and the socket error as its text; only the text tells it from a real 400 of the registry.
  if (NETWORK_FAILURE.test(message)) {
    return new RainstreamError('REGISTRY_UNAVAILABLE', `${what}: ${message}`, {
      cause: error,
      details: { status },
    });
  }
  if (status === 409) {
    return new RainstreamError('SCHEMA_INCOMPATIBLE', `${what}: refused as incompatible: ${message}`, {
      cause: error,
      details: { status },
    });
  }
  if (status === 422) {
    return new RainstreamError('SCHEMA_INVALID', `${what}: invalid schema: ${message}`, { cause: error });
  }
  if (status === 404) {
    return new RainstreamError('SCHEMA_NOT_FOUND', `${what}: not found: ${message}`, { cause: error });
  }
  if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new RainstreamError('SCHEMA_INVALID', `${what}: registry said ${status}: ${message}`, {
      cause: error,
      details: { status },
    });
  }
  return new RainstreamError('REGISTRY_UNAVAILABLE', `${what}: ${message}`, {
    cause: error,
    details: { status },
  });
}

export async function readSchemaFile(schemasDir: string, file: string): Promise<string> {
  const text = await readFile(join(schemasDir, file), 'utf8');
  // Canonical spacing, so an edit to whitespace or indentation is not a new schema version.
  return JSON.stringify(JSON.parse(text));
}

/** Registers one schema under a subject; the same schema again returns the same id. */
export async function registerSchema(
  registry: SchemaRegistry,
  subject: string,
  schema: string,
): Promise<number> {
  try {
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
    return id;
  } catch (error) {
    throw registryError(error, `registering ${subject}`);
  }
}

/** One kind of a catalogue: the schema file it is written with and the subject it is registered under. */
export interface CatalogueEntry {
  file: string;
  subject: string;
}

/**
 * Registers every kind's schema under its subject and returns a codec bound to the ids. Idempotent: the
 * same schema again gets the same id, so setup and every process at start may both run it.
 */
export async function registerCatalogue<T extends KindTypes>(
  registry: SchemaRegistry,
  catalogue: Readonly<Record<KindOf<T>, CatalogueEntry>>,
  schemasDir: string,
): Promise<Codec<T>> {
  const schemaIds = {} as Record<KindOf<T>, number>;
  for (const kind of Object.keys(catalogue) as KindOf<T>[]) {
    const entry = catalogue[kind];
    schemaIds[kind] = await registerSchema(
      registry,
      entry.subject,
      await readSchemaFile(schemasDir, entry.file),
    );
  }
  return createCodec<T>(registry, schemaIds);
}

export async function createCodec<T extends KindTypes>(
  registry: SchemaRegistry,
  schemaIds: Readonly<Record<KindOf<T>, number>>,
): Promise<Codec<T>> {
  const localTypes = new Map<KindOf<T>, AvroType>();
  for (const kind of Object.keys(schemaIds) as KindOf<T>[]) {
    localTypes.set(kind, (await registry.getSchema(schemaIds[kind])) as unknown as AvroType);
  }
  // Resolvers from each writer schema id to each local reader type, built once.
  const resolvers = new Map<string, unknown>();
  const writerTypes = new Map<number, Promise<AvroType>>();

  const writerType = (schemaId: number): Promise<AvroType> => {
    let pending = writerTypes.get(schemaId);
    if (!pending) {
      pending = registry.getSchema(schemaId).then(
        (t) => t as unknown as AvroType,
        (error: unknown) => {
          writerTypes.delete(schemaId);
          const mapped = registryError(error, `fetching writer schema ${schemaId}`);
          // An id the registry does not know can never decode: the record is poison, not the registry.
          throw mapped.code === 'SCHEMA_NOT_FOUND'
            ? new RainstreamError('DECODE', mapped.message, { cause: error, details: { schemaId } })
            : mapped;
        },
      );
      writerTypes.set(schemaId, pending);
    }
    return pending;
  };

  return {
    schemaIds,
    encode(kind, value) {
      const type = localTypes.get(kind)!;
      let body: Buffer;
      try {
        body = type.toBuffer(value);
      } catch (error) {
        const paths: string[] = [];
        type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
        throw new RainstreamError('ENCODE', `invalid ${kind}: ${(error as Error).message}`, {
          cause: error,
          details: { kind, field: paths[0] ?? '' },
        });
      }
      return writeWireHeader(schemaIds[kind], body);
    },
    async decode(kind, buffer) {
      const { schemaId, body } = readWireHeader(buffer);
      const reader = localTypes.get(kind)!;
      try {
        if (schemaId === schemaIds[kind]) return reader.fromBuffer(body) as T[typeof kind];
        const key = `${schemaId}:${kind}`;
        let resolver = resolvers.get(key);
        if (resolver === undefined) {
          const writer = await writerType(schemaId);
          resolver = reader.createResolver(writer);
          resolvers.set(key, resolver);
        }
        return reader.fromBuffer(body, resolver) as T[typeof kind];
      } catch (error) {
        if (error instanceof RainstreamError) throw error;
        throw new RainstreamError(
          'DECODE',
          `not a ${kind} record (schema id ${schemaId}): ${(error as Error).message}`,
          {
            cause: error,
            details: { kind, schemaId },
          },
        );
      }
    },
  };
}
