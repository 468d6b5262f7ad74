import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { child, createLogger } from '../../../../lib/platform/log.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe('log', () => {
  it('respects the configured level and tags children with their component', () => {
    const { stream, lines } = capture();
    const root = createLogger({ logLevel: 'info' }, stream);
    const log = child(root, 'ingest', { partition: 3 });
    log.debug('hidden');
    log.info({ n: 5 }, 'batch done');
    const out = lines();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ component: 'ingest', partition: 3, n: 5, msg: 'batch done', level: 30 });
  });

  it('appends to LOG_FILE when configured, creating its directory, and keeps what was there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rainstream-log-'));
    const file = join(dir, 'nested', 'demo.log');
    try {
      createLogger({ logLevel: 'info', logFile: file }).info({ n: 1 }, 'first');
      createLogger({ logLevel: 'info', logFile: file }, undefined, { service: 'api' }).warn('second');
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toMatchObject([
        { msg: 'first', n: 1, level: 30 },
        { msg: 'second', service: 'api', level: 40 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is silent at silent', () => {
    const { stream, lines } = capture();
    createLogger({ logLevel: 'silent' }, stream).error('nothing');
    expect(lines()).toEqual([]);
  });
});
