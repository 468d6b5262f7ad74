import { describe, expect, it } from 'vitest';
import { clickHouseError } from '../../../../../lib/platform/clickhouse/client.ts';

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
