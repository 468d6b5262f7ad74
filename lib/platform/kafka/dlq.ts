import { describeError, RainstreamError } from '../errors.ts';
import type { IHeaders, Message, Producer } from './client.ts';
import type { ConsumedRecord } from './consumer.ts';
import { sendBounded } from './producer.ts';

export const DLQ_HEADERS = {
  reason: 'rainstream-dlq-reason',
  field: 'rainstream-dlq-field',
  sourceTopic: 'rainstream-source-topic',
  sourcePartition: 'rainstream-source-partition',
  sourceOffset: 'rainstream-source-offset',
} as const;

export interface DlqEntry {
  record: ConsumedRecord;
  /** Why the record was rejected: an error (its code and message are used) or a short text. */
  reason: unknown;
  /** The offending field, when one is known (e.g. `humidity3pm`). */
  field?: string;
}

const MAX_REASON_LENGTH = 1_000;

function reasonText(reason: unknown): string {
  const text = typeof reason === 'string' ? reason : describeError(reason);
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;
}

function fieldOf(entry: DlqEntry): string {
  if (entry.field !== undefined) return entry.field;
  if (entry.reason instanceof RainstreamError && typeof entry.reason.details.field === 'string') {
    return entry.reason.details.field;
  }
  return '';
}

/**
 * The DLQ record of a rejected input: its original key and value bytes untouched (so it can be replayed
 * once fixed), its original headers, and where it came from and why it was rejected.
 */
export function toDlqMessage(entry: DlqEntry): Message {
  const { record } = entry;
  const headers: IHeaders = {
    ...record.headers,
    [DLQ_HEADERS.reason]: reasonText(entry.reason),
    [DLQ_HEADERS.field]: fieldOf(entry),
    [DLQ_HEADERS.sourceTopic]: record.topic,
    [DLQ_HEADERS.sourcePartition]: String(record.partition),
    [DLQ_HEADERS.sourceOffset]: record.offset,
  };
  return { key: record.key, value: record.value, headers };
}

/** Reads the DLQ headers back (for the DLQ inspector and tests). */
export function readDlqHeaders(headers: IHeaders): {
  reason: string;
  field: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
} {
  const text = (name: string): string => {
    const value = headers[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? '' : first.toString();
  };
  return {
    reason: text(DLQ_HEADERS.reason),
    field: text(DLQ_HEADERS.field),
    sourceTopic: text(DLQ_HEADERS.sourceTopic),
    sourcePartition: Number(text(DLQ_HEADERS.sourcePartition)),
    sourceOffset: text(DLQ_HEADERS.sourceOffset),
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
