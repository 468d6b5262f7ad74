/**
 * Building SQL text safely. ClickHouse 18.16 (the server this project runs locally) has no server-side
 * query parameters, so every value that reaches a query is written as a literal by these functions,
 * never concatenated by hand.
 */
import { RainstreamError } from '../errors.ts';

const STRING_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

// Backslash, quote, and every C0 control and DEL: what could end the literal or confuse a log line.
const NEEDS_ESCAPE = /[\\'\u0000-\u001f\u007f]/g;

function escapeChar(c: string): string {
  return STRING_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one (code units).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A single-quoted ClickHouse string literal. Text beyond ASCII goes through as UTF-8, which ClickHouse
 * stores byte for byte. A string with a lone UTF-16 surrogate has no UTF-8 form and is refused rather
 * than silently altered.
 */
export function quoteString(value: string): string {
  if (LONE_SURROGATE.test(value)) {
    throw new RainstreamError(
      'VALIDATION',
      'string has a lone UTF-16 surrogate and cannot be stored as UTF-8',
    );
  }
  return `'${value.replace(NEEDS_ESCAPE, escapeChar)}'`;
}

/** A back-quoted identifier (database, table or column name). */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || /[\u0000-\u001f\u007f]/.test(name) || LONE_SURROGATE.test(name)) {
    throw new RainstreamError('VALIDATION', `not a usable identifier: ${JSON.stringify(name)}`);
  }
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

export type SqlValue =
  string | number | bigint | boolean | null | undefined | SqlFragment | readonly SqlValue[];

/** Text already known to be SQL (an identifier, a sub-query): inserted as is by `sql`. */
export class SqlFragment {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export function ident(name: string): SqlFragment {
  return new SqlFragment(quoteIdentifier(name));
}

export function raw(text: string): SqlFragment {
  return new SqlFragment(text);
}

export function quoteNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A `Date` literal from `YYYY-MM-DD` (the format of every date in the events). */
export function quoteDate(value: string): string {
  if (!DATE.test(value))
    throw new RainstreamError('VALIDATION', `not a YYYY-MM-DD date: ${JSON.stringify(value)}`);
  return `toDate('${value}')`;
}

export function literal(value: SqlValue): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof SqlFragment) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => literal(v)).join(', ')}]`;
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
      return quoteNumber(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? '1' : '0';
    default:
      throw new RainstreamError('VALIDATION', `cannot write a ${typeof value} as a SQL literal`);
  }
}

/**
 * Tagged template: sql`SELECT * FROM ${ident(table)} WHERE location = ${location}` writes each
 * interpolated value as a literal (strings quoted and escaped) and fragments as they are.
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): string {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += literal(values[i]) + strings[i + 1];
  return out;
}

/** Epoch milliseconds as the unix seconds a `DateTime` column takes in JSONEachRow. */
export function toDateTime(epochMs: number): number {
  return Math.floor(epochMs / 1000);
}

/**
 * JSON has no NaN. ClickHouse reads the string "nan" into Float64 on both 18.16 and 26.x, whereas null
 * becomes 0 on 26.x: missing features must stay missing.
 */
export function floatsForJson(values: readonly number[]): (number | string)[] {
  const out = new Array<number | string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v;
  }
  return out;
}
