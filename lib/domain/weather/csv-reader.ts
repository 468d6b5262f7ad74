/**
 * An RFC 4180 CSV reader over bytes: fields separated by commas, records by LF or CRLF; a field may be
 * quoted, and then holds commas, line breaks and quotes written twice (`""`). A UTF-8 byte order mark at
 * the start is skipped. It reads the bytes as they are, so a record that cannot be read is handed on with
 * its exact bytes (for the DLQ) and the reason, and reading goes on with the next record:
 * - a record longer than `maxRecordBytes` (its fields are never decoded);
 * - a quote inside an unquoted field, or text after a closing quote;
 * - a quoted field still open `maxRecordBytes` after its record began, or at the end of the input; or a
 *   record spanning lines that cannot be read or has another number of fields than the first record:
 *   such a record is taken to end with its first line, and reading resumes on the next line, so a stray
 *   quote costs its own line, not the lines a later quote would close it on (RFC 4180: every record has
 *   as many fields as the header);
 * - bytes that are not UTF-8.
 * Blank lines are skipped. Records are yielded one at a time (no array of lines or of the whole text): the
 * common record, unquoted, costs one native newline search, one decode and one split.
 */
import { isUtf8 } from 'node:buffer';

/** One record: where it is in the input, and its fields, or why it could not be read. */
export interface CsvRecord {
  /** Line (1-based) on which the record starts. */
  line: number;
  /** The record's bytes are input[start, end): without its line break. */
  start: number;
  end: number;
  /** The fields, unquoted; null when the record could not be read. */
  fields: string[] | null;
  /** Why the record could not be read; null when it was. */
  error: string | null;
}

export interface CsvReadOptions {
  /** A record (all its lines) longer than this is refused unread. Default 64 KiB. */
  maxRecordBytes?: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024;

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

function startsWithBom(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

/** Where reading starts, for a reader fed piece by piece (CsvStreamReader). */
export interface CsvReadPosition {
  offset: number;
  line: number;
  /** False for a piece of a stream: stop before a record whose end may lie in bytes not given yet. */
  final: boolean;
  /** Whether `offset` is the very start of the input, where a byte order mark may be. */
  atStart: boolean;
  /** Fields of the first record read, once known. */
  width?: number;
}

/**
 * The records of `input`, in order. The generator's return value says where reading stopped (the end,
 * or for a non-final piece, the start of the first incomplete record).
 */
export function* csvRecords(
  input: Uint8Array,
  options: CsvReadOptions = {},
  from: CsvReadPosition = { offset: 0, line: 1, final: true, atStart: true },
): Generator<CsvRecord, { offset: number; line: number; width: number | undefined }> {
  const maxBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const length = bytes.length;
  // Checking the whole input once is cheap and spares a check per record in the usual, valid, case.
  const allUtf8 = isUtf8(bytes);
  let pos = from.atStart && startsWithBom(bytes.subarray(from.offset)) ? from.offset + 3 : from.offset;
  let line = from.line;
  let width = from.width;
  // Position of the next quote at or after pos (length when none): searched again only once passed, so a
  // file without quotes costs one search in all.
  let nextQuote = -1;

  while (pos < length) {
    if (nextQuote < pos) {
      nextQuote = bytes.indexOf(QUOTE, pos);
      if (nextQuote < 0) nextQuote = length;
    }
    const newline = bytes.indexOf(LF, pos);
    const lineEnd = newline < 0 ? length : newline;
    if (newline < 0 && !from.final) break;

    if (nextQuote >= lineEnd) {
      // Unquoted record on one line.
      const end = lineEnd > pos && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      const record = simpleRecord(bytes, pos, end, line, maxBytes, allUtf8);
      pos = newline < 0 ? length : newline + 1;
      line++;
      if (record) {
        width ??= record.fields?.length;
        yield record;
      }
      continue;
    }

    const scanned = scanQuoted(bytes, pos, maxBytes);
    if (!from.final && !scanned.terminated && !(scanned.open && scanned.next < length)) break;
    if (scanned.open) {
      // A quoted field that never closes: its record is its first line, and reading goes on after it.
      const end = lineEnd > pos && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      yield {
        line,
        start: pos,
        end,
        fields: null,
        error: `a quoted field opened on line ${line} is not closed within ${maxBytes} bytes or before the end`,
      };
      pos = newline < 0 ? length : newline + 1;
      line++;
      continue;
    }
    const record: CsvRecord = { line, start: pos, end: scanned.end, fields: null, error: null };
    if (scanned.end - pos > maxBytes) {
      record.error = `record of ${scanned.end - pos} bytes is longer than ${maxBytes}`;
    } else if (!allUtf8 && !isUtf8(bytes.subarray(pos, scanned.end))) {
      record.error = 'record is not UTF-8 text';
    } else {
      const fields = quotedFields(bytes, pos, scanned.end);
      if (typeof fields === 'string') record.error = fields;
      else if (scanned.lines > 1 && width !== undefined && fields.length !== width) {
        record.error = `${fields.length} fields across ${scanned.lines} lines, not ${width}`;
      } else record.fields = fields;
    }
    if (record.error !== null && scanned.lines > 1) {
      // Most likely a stray quote that a later one closed: only its first line is lost.
      const end = lineEnd > pos && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      yield { ...record, end, error: `${record.error}; read as its first line only` };
      pos = newline + 1;
      line++;
      continue;
    }
    width ??= record.fields?.length;
    line += scanned.lines;
    pos = scanned.next;
    yield record;
  }
  return { offset: pos, line, width };
}

function simpleRecord(
  bytes: Buffer,
  start: number,
  end: number,
  line: number,
  maxBytes: number,
  allUtf8: boolean,
): CsvRecord | null {
  if (end === start) return null; // a blank line
  const record: CsvRecord = { line, start, end, fields: null, error: null };
  if (end - start > maxBytes) record.error = `record of ${end - start} bytes is longer than ${maxBytes}`;
  else if (!allUtf8 && !isUtf8(bytes.subarray(start, end))) record.error = 'record is not UTF-8 text';
  else record.fields = bytes.toString('utf8', start, end).split(',');
  return record;
}

/**
 * Where the record starting at `start` ends, honouring quotes: `end` before its line break, `next` after
 * it, `lines` it spans. `open` when a quoted field is still open `maxBytes` later or at the end;
 * `terminated` when a line break ends it (rather than the end of the input).
 */
function scanQuoted(
  bytes: Buffer,
  start: number,
  maxBytes: number,
): { end: number; next: number; lines: number; open: boolean; terminated: boolean } {
  const length = bytes.length;
  const limit = Math.min(length, start + maxBytes + 1);
  let inQuotes = false;
  let fieldStart = true;
  let lines = 1;
  for (let i = start; i < length; i++) {
    const c = bytes[i]!;
    if (inQuotes) {
      if (i >= limit) return { end: i, next: i, lines, open: true, terminated: false };
      if (c === QUOTE) {
        if (bytes[i + 1] === QUOTE) i++;
        else inQuotes = false;
      } else if (c === LF) lines++;
      continue;
    }
    if (c === QUOTE && fieldStart) inQuotes = true;
    else if (c === LF) {
      const end = i > start && bytes[i - 1] === CR ? i - 1 : i;
      return { end, next: i + 1, lines, open: false, terminated: true };
    }
    fieldStart = c === COMMA;
  }
  if (inQuotes) return { end: length, next: length, lines, open: true, terminated: false };
  const end = length > start && bytes[length - 1] === CR ? length - 1 : length;
  return { end, next: length, lines, open: false, terminated: false };
}

/** The fields of a record holding quotes, or why they cannot be read. */
function quotedFields(bytes: Buffer, start: number, end: number): string[] | string {
  const fields: string[] = [];
  let i = start;
  for (;;) {
    if (i < end && bytes[i] === QUOTE) {
      const from = i + 1;
      let escaped = false;
      let j = from;
      for (; j < end; j++) {
        if (bytes[j] === QUOTE) {
          if (bytes[j + 1] === QUOTE && j + 1 < end) {
            escaped = true;
            j++;
          } else break;
        }
      }
      const text = bytes.toString('utf8', from, j);
      fields.push(escaped ? text.replaceAll('""', '"') : text);
      i = j + 1;
      if (i === end) return fields;
      if (bytes[i] !== COMMA) return `text after the closing quote of field ${fields.length}`;
      i++;
      continue;
    }
    let j = i;
    while (j < end && bytes[j] !== COMMA) {
      if (bytes[j] === QUOTE) return `a quote inside unquoted field ${fields.length + 1}`;
      j++;
    }
    fields.push(bytes.toString('utf8', i, j));
    if (j === end) return fields;
    i = j + 1;
  }
}

/** A record of a stream, with its bytes (a view that stays valid after later pushes). */
export interface StreamedCsvRecord extends CsvRecord {
  raw: Buffer;
}

/**
 * Push-fed reader for a stream of chunks (a file read piece by piece, a socket): each `push` returns the
 * records completed so far, `end` the rest. Records and line numbers are those `csvRecords` gives for the
 * whole input; `start`/`end` count from the start of the stream.
 */
export class CsvStreamReader {
  private pending: Buffer = Buffer.alloc(0);
  /** Stream offset of pending[0]. */
  private base = 0;
  private line = 1;
  private width: number | undefined;
  private readonly options: CsvReadOptions;

  constructor(options: CsvReadOptions = {}) {
    this.options = options;
  }

  push(chunk: Uint8Array): StreamedCsvRecord[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    return this.drain(false);
  }

  end(): StreamedCsvRecord[] {
    return this.drain(true);
  }

  private drain(final: boolean): StreamedCsvRecord[] {
    const out: StreamedCsvRecord[] = [];
    // Until 3 bytes are in, a byte order mark cannot be told from the start of a field.
    if (this.base === 0 && this.pending.length < 3 && !final) return out;
    const iterator = csvRecords(this.pending, this.options, {
      offset: 0,
      line: this.line,
      final,
      atStart: this.base === 0,
      width: this.width,
    });
    let step = iterator.next();
    for (; !step.done; step = iterator.next()) {
      const r = step.value;
      out.push({
        ...r,
        raw: this.pending.subarray(r.start, r.end),
        start: r.start + this.base,
        end: r.end + this.base,
      });
    }
    this.line = step.value.line;
    this.width = step.value.width;
    this.base += step.value.offset;
    this.pending = this.pending.subarray(step.value.offset);
    return out;
  }
}
