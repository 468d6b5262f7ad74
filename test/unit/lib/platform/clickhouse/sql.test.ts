import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../../lib/platform/errors.ts';
import {
  ident,
  literal,
  quoteDate,
  quoteIdentifier,
  quoteNumber,
  quoteString,
  raw,
  sql,
  toDateTime,
} from '../../../../../lib/platform/clickhouse/sql.ts';

describe('quoteString', () => {
  it('escapes quotes, backslashes and control characters', () => {
    expect(quoteString(`it's`)).toBe(`'it\\'s'`);
    expect(quoteString('a\\b')).toBe(`'a\\\\b'`);
    expect(quoteString('a\0b')).toBe(`'a\\0b'`);
    expect(quoteString('l1\nl2\r\t')).toBe(`'l1\\nl2\\r\\t'`);
    expect(quoteString('\b\f')).toBe(`'\\b\\f'`);
    expect(quoteString('\u0001\u001f\u007f')).toBe(`'\\x01\\x1f\\x7f'`);
  });

  it('leaves unicode as it is', () => {
    expect(quoteString('Wagga Wagga ☔ 雨 🌧️ שלום')).toBe(`'Wagga Wagga ☔ 雨 🌧️ שלום'`);
  });

  it('never lets a value close the literal', () => {
    for (const hostile of [`'; DROP TABLE predictions; --`, `\\'`, `\\\\'`, `'\0'`, `\\`]) {
      const quoted = quoteString(hostile);
      // Walk the literal as the ClickHouse lexer does: the only unescaped quote is the closing one.
      let i = 1;
      while (quoted[i] !== "'") i += quoted[i] === '\\' ? 2 : 1;
      expect(i).toBe(quoted.length - 1);
    }
  });

  it('refuses a lone surrogate, which has no UTF-8 form', () => {
    expect(() => quoteString('bad \ud800 half')).toThrow(RainstreamError);
    expect(() => quoteString('bad \udc00')).toThrow(RainstreamError);
    expect(quoteString('ok 😀')).toBe(`'ok 😀'`);
  });
});

describe('quoteIdentifier', () => {
  it('back-quotes and escapes', () => {
    expect(quoteIdentifier('predictions')).toBe('`predictions`');
    expect(quoteIdentifier('we`ird\\name')).toBe('`we\\`ird\\\\name`');
  });

  it('refuses empty names and control characters', () => {
    expect(() => quoteIdentifier('')).toThrow(RainstreamError);
    expect(() => quoteIdentifier('a\nb')).toThrow(RainstreamError);
    expect(() => quoteIdentifier('a\0b')).toThrow(RainstreamError);
  });
});

describe('literal and sql``', () => {
  it('writes each kind of value', () => {
    expect(literal(null)).toBe('NULL');
    expect(literal(undefined)).toBe('NULL');
    expect(literal(true)).toBe('1');
    expect(literal(false)).toBe('0');
    expect(literal(12n)).toBe('12');
    expect(literal(-1.5)).toBe('-1.5');
    expect(literal(['a', 1, null])).toBe(`['a', 1, NULL]`);
    expect(quoteNumber(NaN)).toBe('nan');
    expect(quoteNumber(Infinity)).toBe('inf');
    expect(quoteNumber(-Infinity)).toBe('-inf');
  });

  it('quotes interpolated values and inserts fragments as they are', () => {
    const location = `O'Brien`;
    expect(
      sql`SELECT * FROM ${ident('predictions')} WHERE location = ${location} AND n > ${3} ${raw('LIMIT 1')}`,
    ).toBe("SELECT * FROM `predictions` WHERE location = 'O\\'Brien' AND n > 3 LIMIT 1");
  });

  it('checks dates', () => {
    expect(quoteDate('2017-06-24')).toBe(`toDate('2017-06-24')`);
    expect(() => quoteDate(`2017-06-24'); DROP`)).toThrow(RainstreamError);
  });

  it('turns epoch ms into DateTime seconds', () => {
    expect(toDateTime(1_500_000_000_999)).toBe(1_500_000_000);
  });
});
