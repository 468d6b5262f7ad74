import { describe, expect, it } from 'vitest';
import { clickHouseError, withStaleSocketRetry } from '../../../../../lib/platform/clickhouse/client.ts';

describe('clickHouseError', () => {
  it('reads the code out of an 18.16 error text', () => {
    const syntax = new Error('Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1');
    expect(clickHouseError(syntax, 'q')).toMatchObject({
      code: 'CLICKHOUSE_QUERY',
      retriable: false,
      details: { serverCode: '62' },
    });
    const busy = new Error('Code: 202, e.displayText() = DB::Exception: Too many simultaneous queries');
    expect(clickHouseError(busy, 'q')).toMatchObject({ code: 'CLICKHOUSE', retriable: true });
  });

  it('treats no answer at all as retriable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(clickHouseError(refused, 'q')).toMatchObject({ code: 'CLICKHOUSE', retriable: true });
  });
});

describe('withStaleSocketRetry', () => {
  const socketError = (code: string) => Object.assign(new Error(`write ${code}`), { code });

  it('tries again at once when a reused keep-alive socket was already closed', async () => {
    let calls = 0;
    const result = await withStaleSocketRetry(async () => {
      calls++;
      if (calls === 1) throw socketError('EPIPE');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(2);
  });

  it('hands a refused connection (an outage) and a server error to the caller at once', async () => {
    let calls = 0;
    await expect(
      withStaleSocketRetry(async () => {
        calls++;
        throw socketError('ECONNREFUSED');
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(
      withStaleSocketRetry(async () => {
        calls++;
        throw new Error('Code: 60, e.displayText() = DB::Exception: Table default.x does not exist');
      }),
    ).rejects.toThrow('Code: 60');
    expect(calls).toBe(2);
  });

  it('gives up after a few stale sockets in a row', async () => {
    let calls = 0;
    await expect(
      withStaleSocketRetry(async () => {
        calls++;
        throw socketError('ECONNRESET');
      }, 3),
    ).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(calls).toBe(3);
  });
});
