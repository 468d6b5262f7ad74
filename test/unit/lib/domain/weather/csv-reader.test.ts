import { describe, expect, it } from 'vitest';
import { csvRecords, CsvStreamReader, type CsvRecord } from '../../../../../lib/domain/weather/csv-reader.ts';

const read = (text: string | Uint8Array, maxRecordBytes?: number): CsvRecord[] => [
  ...csvRecords(typeof text === 'string' ? Buffer.from(text) : text, { maxRecordBytes }),
];
const fieldsOf = (text: string) => read(text).map((r) => r.fields);

/** Seeded PRNG (mulberry32): property tests that fail the same way every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * RFC 4180 writing: quote a field holding a comma, quote, CR or LF, doubling its quotes; and a lone empty
 * field, which unquoted would be a blank line (no record at all).
 */
function toCsv(rows: string[][], eol: string): string {
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const cell = (s: string, row: string[]) =>
    /[",\r\n]/.test(s) || (row.length === 1 && s === '') ? quote(s) : s;
  return rows.map((r) => r.map((c) => cell(c, r)).join(',')).join(eol) + eol;
}

describe('csvRecords: RFC 4180', () => {
  it('reads unquoted records, LF or CRLF, the last one with or without a line break', () => {
    expect(fieldsOf('a,b\n1,2\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fieldsOf('a,b\r\n1,2\r\n3,4')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('keeps empty fields and skips blank lines, counting them in line numbers', () => {
    const records = read('a,,c\n\n\r\n,\n');
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', '', 'c']],
      [4, ['', '']],
    ]);
  });

  it('skips a UTF-8 byte order mark at the start only', () => {
    expect(fieldsOf('\uFEFFDate,Location\n2010-01-01,Sydney')).toEqual([
      ['Date', 'Location'],
      ['2010-01-01', 'Sydney'],
    ]);
    expect(fieldsOf('a\n\uFEFFb')[1]).toEqual(['\uFEFFb']);
  });

  it('reads quoted fields: commas, doubled quotes, line breaks, an empty quoted field, a fully quoted row', () => {
    const records = read('"a,1","say ""hi""","two\nlines","",x\r\n"2010-01-01","Sydney"\nnext,row\n');
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a,1', 'say "hi"', 'two\nlines', '', 'x']],
      [3, ['2010-01-01', 'Sydney']],
      [4, ['next', 'row']],
    ]);
  });

  it('keeps a CRLF inside a quoted field as written', () => {
    expect(fieldsOf('"a\r\nb",c\r\n')).toEqual([['a\r\nb', 'c']]);
  });

  it('gives each record its exact bytes, without the line break', () => {
    const bytes = Buffer.from('h\r\n"q,1",2\r\nlast');
    const records = read(bytes);
    expect(records.map((r) => bytes.toString('utf8', r.start, r.end))).toEqual(['h', '"q,1",2', 'last']);
  });

  it('refuses a quote inside an unquoted field, and text after a closing quote, one record each', () => {
    const records = read('a,b"c,d\n"x"y,z\nok,1\n');
    expect(records.map((r) => [r.line, r.fields, r.error])).toEqual([
      [1, null, 'a quote inside unquoted field 2'],
      [2, null, 'text after the closing quote of field 1'],
      [3, ['ok', '1'], null],
    ]);
  });

  it('loses one line, not the rest of the input, to a quote that never closes', () => {
    const records = read('h1,h2\n"never closed,1\nok,2\nok,3\n');
    expect(records.map((r) => [r.line, r.fields, r.error !== null])).toEqual([
      [1, ['h1', 'h2'], false],
      [2, null, true],
      [3, ['ok', '2'], false],
      [4, ['ok', '3'], false],
    ]);
    expect(records[1]!.error).toMatch(/quoted field opened on line 2 is not closed/);
  });

  it('loses one line to a stray quote that a later line closes', () => {
    const records = read('a,b,c\n1,"2,3\n4,"x\ny",6\n7,8,9\n');
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b', 'c']],
      [2, null],
      [3, ['4', 'x\ny', '6']],
      [5, ['7', '8', '9']],
    ]);
    expect(records[1]!.error).toBe('text after the closing quote of field 2; read as its first line only');
  });

  it('reads a record spanning lines only when it has as many fields as the first record', () => {
    const records = read('a,b,c\n1,"2\n3",4\n5,"6,\n7",8,9\n');
    expect(records.map((r) => [r.line, r.fields, r.error])).toEqual([
      [1, ['a', 'b', 'c'], null],
      [2, ['1', '2\n3', '4'], null],
      [4, null, '4 fields across 2 lines, not 3; read as its first line only'],
      [5, null, 'a quote inside unquoted field 1'],
    ]);
  });

  it('closes a quoted field spanning lines when it closes within the limit, and not past it', () => {
    const long = `"${'x\n'.repeat(50)}",1\nnext,2\n`;
    expect(read(long)[0]!.fields).toEqual(['x\n'.repeat(50), '1']);
    const records = read(long, 64);
    expect(records[0]!.error).toMatch(/not closed within 64 bytes/);
    // Reading resumed on line 2: the 50 lines of x are records of their own, then the rest.
    expect(records.at(-1)!.fields).toEqual(['next', '2']);
  });

  it('refuses a record longer than the limit without decoding it, and goes on', () => {
    const huge = 'x'.repeat(520 * 1024);
    const records = read(`a,b\n${huge},1\nc,d\n`);
    expect(records.map((r) => r.fields)).toEqual([['a', 'b'], null, ['c', 'd']]);
    expect(records[1]!.error).toBe(`record of ${huge.length + 2} bytes is longer than ${64 * 1024}`);
    expect(records[1]!.end - records[1]!.start).toBe(huge.length + 2);
  });

  it('reads a record of 1000 columns (the caller decides it is wrong)', () => {
    expect(read(`${Array(1000).fill('1').join(',')}\n`)[0]!.fields).toHaveLength(1000);
  });

  it('refuses a record that is not UTF-8, with its bytes, and reads the others', () => {
    const bytes = Buffer.concat([
      Buffer.from('a,b\n'),
      Buffer.from([0x31, 0x2c, 0xff, 0xfe, 0x0a]),
      Buffer.from('c,é\n'),
    ]);
    const records = read(bytes);
    expect(records.map((r) => [r.fields, r.error])).toEqual([
      [['a', 'b'], null],
      [null, 'record is not UTF-8 text'],
      [['c', 'é'], null],
    ]);
    expect([...bytes.subarray(records[1]!.start, records[1]!.end)]).toEqual([0x31, 0x2c, 0xff, 0xfe]);
  });

  it('reads binary junk as records with reasons, never throwing', () => {
    const random = prng(7);
    const junk = Buffer.from(Array.from({ length: 20_000 }, () => Math.floor(random() * 256)));
    const records = read(junk, 1024);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(r.fields !== null || typeof r.error === 'string').toBe(true);
  });

  it('reads back any table written with RFC 4180 quoting (property, 300 random tables)', () => {
    const random = prng(42);
    const alphabet = ['a', 'Z', '0', ' ', ',', '"', '\n', '\r', '\r\n', 'é', '日', '😀', '\t', '\uFEFF', ''];
    for (let t = 0; t < 300; t++) {
      const width = 1 + Math.floor(random() * 6);
      const rows = Array.from({ length: 1 + Math.floor(random() * 8) }, () =>
        Array.from({ length: width }, () =>
          Array.from(
            { length: Math.floor(random() * 6) },
            () => alphabet[Math.floor(random() * alphabet.length)],
          ).join(''),
        ),
      );
      // With a byte order mark in front, which the reader drops, whatever the first field holds.
      const text = '\uFEFF' + toCsv(rows, random() < 0.5 ? '\n' : '\r\n');
      expect(read(text).map((r) => r.fields)).toEqual(rows);
    }
  });
});

describe('CsvStreamReader', () => {
  it('gives the records of the whole input whatever the chunk boundaries (property)', () => {
    const text = Buffer.from(
      '\uFEFFh1,h2\r\n"multi\nline ""q""",2\n\nplain,3\n"open,4\nafter,5\n' + 'x'.repeat(300) + ',6\nend,7',
    );
    const whole = [...csvRecords(text, { maxRecordBytes: 200 })].map((r) => [
      r.line,
      r.start,
      r.end,
      r.fields,
      r.error,
    ]);
    const random = prng(3);
    for (let t = 0; t < 200; t++) {
      const reader = new CsvStreamReader({ maxRecordBytes: 200 });
      const got: unknown[] = [];
      for (let at = 0; at < text.length;) {
        const size = 1 + Math.floor(random() * (t % 2 === 0 ? 4 : 64));
        for (const r of reader.push(text.subarray(at, at + size)))
          got.push([r.line, r.start, r.end, r.fields, r.error]);
        at += size;
      }
      for (const r of reader.end()) got.push([r.line, r.start, r.end, r.fields, r.error]);
      expect(got).toEqual(whole);
    }
  });

  it('hands each record its bytes', () => {
    const reader = new CsvStreamReader();
    const records = [
      ...reader.push(Buffer.from('a,"b\n')),
      ...reader.push(Buffer.from('c"\nd')),
      ...reader.end(),
    ];
    expect(records.map((r) => r.raw.toString())).toEqual(['a,"b\nc"', 'd']);
  });
});
