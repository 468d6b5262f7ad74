import { createHash } from 'node:crypto';
import { describeError, RainstreamError } from '../errors.ts';
import type { IHeaders, Message, Producer } from './client.ts';
import type { ConsumedRecord } from './consumer.ts';
import { sendBounded } from './producer.ts';

export const DLQ_HEADERS = {
  reason: 'rainstream-dlq-reason',
  field: 'rainstream-dlq-field',
  /** What kind of rejection: see DlqKind. */
  kind: 'rainstream-dlq-kind',
  /** The stage (or `replay`) that rejected the record. */
  stage: 'rainstream-dlq-stage',
  sourceTopic: 'rainstream-source-topic',
  sourcePartition: 'rainstream-source-partition',
  sourceOffset: 'rainstream-source-offset',
  /** For a conflict: the version that was kept, as JSON (bounded like the reason). */
  conflicting: 'rainstream-dlq-conflicting',
  /** Set when the value was cut to MAX_DLQ_VALUE_BYTES: the original's size and SHA-256 (hex). */
  valueBytes: 'rainstream-dlq-value-bytes',
  valueSha256: 'rainstream-dlq-value-sha256',
  /** The same for a key longer than MAX_DLQ_KEY_BYTES. */
  keyBytes: 'rainstream-dlq-key-bytes',
  keySha256: 'rainstream-dlq-key-sha256',
  /** How many of the record's own headers were left out to keep the DLQ record bounded. */
  droppedHeaders: 'rainstream-dlq-dropped-headers',
} as const;

/**
 * - invalid: the record decoded but breaks a rule of the domain validation (field and reason say which);
 * - decode: the bytes are not a record of the expected schema (garbage, unknown schema id, no value);
 * - late: a station's day that arrived after a later day of the station was processed;
 * - conflict: a second version of a station's day with other values (the kept one in `conflicting`);
 * - error: processing the record failed in a way no retry can fix.
 */
export type DlqKind = 'invalid' | 'decode' | 'late' | 'conflict' | 'error';

export interface DlqEntry {
  record: ConsumedRecord;
  /** Why the record was rejected: an error (its code and message are used) or a short text. */
  reason: unknown;
  /** The offending field, when one is known (e.g. `humidity3pm`). */
  field?: string;
  kind?: DlqKind;
  stage?: string;
  /** For a conflict: the version kept, serialized as JSON into its header. */
  conflicting?: unknown;
}

/** Bytes of the reason header, and of the conflicting version. */
export const MAX_REASON_BYTES = 1024;
export const MAX_FIELD_BYTES = 128;
export const MAX_CONFLICTING_BYTES = 2048;
/** A rejected value is kept whole up to this; past it, cut, with its size and hash in headers. */
export const MAX_DLQ_VALUE_BYTES = 64 * 1024;
export const MAX_DLQ_KEY_BYTES = 1024;
/** The record's own headers are copied while they fit in this; the rest are counted, not copied. */
export const MAX_COPIED_HEADER_BYTES = 8 * 1024;

/** `text` cut to at most `maxBytes` of UTF-8, on a character boundary, ending in … when cut. */
export function boundedText(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes - 3; // room for the ellipsis, 3 bytes in UTF-8
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return `${bytes.toString('utf8', 0, end)}…`;
}

function reasonText(reason: unknown): string {
  return boundedText(typeof reason === 'string' ? reason : describeError(reason), MAX_REASON_BYTES);
}

function fieldOf(entry: { field?: string; reason: unknown }): string {
  if (entry.field !== undefined) return entry.field;
  if (entry.reason instanceof RainstreamError && typeof entry.reason.details.field === 'string') {
    return entry.reason.details.field;
  }
  return '';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `bytes` as a DLQ may carry it: whole when small, else cut, with the original's size and hash. */
function bounded(
  bytes: Buffer | null,
  max: number,
  sizeHeader: string,
  hashHeader: string,
  headers: IHeaders,
): Buffer | null {
  if (bytes === null || bytes.length <= max) return bytes;
  headers[sizeHeader] = String(bytes.length);
  headers[hashHeader] = sha256(bytes);
  return bytes.subarray(0, max);
}

function headerBytes(name: string, value: IHeaders[string]): number {
  const values = Array.isArray(value) ? value : [value];
  let total = 0;
  for (const v of values) {
    total +=
      Buffer.byteLength(name) +
      (v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  }
  return total;
}

function conflictingText(conflicting: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(conflicting) ?? String(conflicting);
  } catch {
    text = String(conflicting);
  }
  return boundedText(text, MAX_CONFLICTING_BYTES);
}

/**
 * The DLQ record of a rejected input: its original key and value bytes (so it can be replayed once fixed;
 * cut, with size and hash, only past MAX_DLQ_VALUE_BYTES), its original headers (while they fit), where it
 * came from and why it was rejected. Bounded, so a DLQ record always fits in a broker's message limit
 * whatever the rejected record held.
 */
export function toDlqMessage(entry: DlqEntry): Message {
  const { record } = entry;
  const headers: IHeaders = {};
  let copied = 0;
  let dropped = 0;
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    if (name.startsWith('rainstream-dlq-') || name.startsWith('rainstream-source-')) continue;
    const size = headerBytes(name, value);
    if (copied + size > MAX_COPIED_HEADER_BYTES) {
      dropped++;
      continue;
    }
    headers[name] = value;
    copied += size;
  }
  if (dropped > 0) headers[DLQ_HEADERS.droppedHeaders] = String(dropped);
  headers[DLQ_HEADERS.reason] = reasonText(entry.reason);
  headers[DLQ_HEADERS.field] = boundedText(fieldOf(entry), MAX_FIELD_BYTES);
  headers[DLQ_HEADERS.kind] = entry.kind ?? 'invalid';
  if (entry.stage !== undefined) headers[DLQ_HEADERS.stage] = entry.stage;
  headers[DLQ_HEADERS.sourceTopic] = record.topic;
  headers[DLQ_HEADERS.sourcePartition] = String(record.partition);
  headers[DLQ_HEADERS.sourceOffset] = record.offset;
  if (entry.conflicting !== undefined) headers[DLQ_HEADERS.conflicting] = conflictingText(entry.conflicting);
  const key = bounded(record.key, MAX_DLQ_KEY_BYTES, DLQ_HEADERS.keyBytes, DLQ_HEADERS.keySha256, headers);
  const value = bounded(
    record.value,
    MAX_DLQ_VALUE_BYTES,
    DLQ_HEADERS.valueBytes,
    DLQ_HEADERS.valueSha256,
    headers,
  );
  return { key, value, headers };
}

/** A row of an input file that was not sent (the replay): its bytes, line and why. */
export interface FileRowRejection {
  /** The row's exact bytes. */
  bytes: Uint8Array;
  line: number;
  field: string;
  reason: string;
  kind?: DlqKind;
  conflicting?: unknown;
}

/** The DLQ record of a file row: source topic `file:<path>`, source offset its line, bounded like the rest. */
export function fileRowDlqMessage(row: FileRowRejection, file: string, stage = 'replay'): Message {
  return toDlqMessage({
    record: {
      topic: `file:${file}`,
      partition: 0,
      offset: String(row.line),
      key: null,
      value: Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength),
      headers: {},
      timestamp: 0,
    },
    reason: row.reason,
    field: row.field,
    kind: row.kind,
    stage,
    conflicting: row.conflicting,
  });
}

export interface DlqHeaders {
  reason: string;
  field: string;
  kind: string;
  stage: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  conflicting: string;
  valueBytes: number | null;
  valueSha256: string;
}

/** Reads the DLQ headers back (for the DLQ inspector and tests). */
export function readDlqHeaders(headers: IHeaders): DlqHeaders {
  const text = (name: string): string => {
    const value = headers[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? '' : first.toString();
  };
  const valueBytes = text(DLQ_HEADERS.valueBytes);
  return {
    reason: text(DLQ_HEADERS.reason),
    field: text(DLQ_HEADERS.field),
    kind: text(DLQ_HEADERS.kind),
    stage: text(DLQ_HEADERS.stage),
    sourceTopic: text(DLQ_HEADERS.sourceTopic),
    sourcePartition: Number(text(DLQ_HEADERS.sourcePartition)),
    sourceOffset: text(DLQ_HEADERS.sourceOffset),
    conflicting: text(DLQ_HEADERS.conflicting),
    valueBytes: valueBytes === '' ? null : Number(valueBytes),
    valueSha256: text(DLQ_HEADERS.valueSha256),
  };
}

/** Produces the DLQ records of a batch; resolves when they are durable, so the batch may be committed. */
export async function sendToDlq(
  producer: Producer,
  dlqTopic: string,
  entries: readonly DlqEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await sendBounded(producer, dlqTopic, entries.map(toDlqMessage));
}
