import { describe, expect, it } from 'vitest';
import { prefixedKey, redisError } from '../../../../lib/platform/redis.ts';

describe('prefixedKey', () => {
  it('joins the prefix and the parts with colons', () => {
    expect(prefixedKey('rs', ['state', 'Albury', 2017])).toBe('rs:state:Albury:2017');
    expect(prefixedKey('t:redis:ab12', ['champion'])).toBe('t:redis:ab12:champion');
  });
});

describe('redisError', () => {
  const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

  it('retries a connection that is away and a server that says "not now"', () => {
    expect(redisError(new Error('Connection is closed.'), 'get').retriable).toBe(true);
    expect(
      redisError(Object.assign(new Error('max retries'), { name: 'MaxRetriesPerRequestError' }), 'get')
        .retriable,
    ).toBe(true);
    expect(redisError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'get').retriable).toBe(true);
    expect(redisError(reply('LOADING Redis is loading the dataset in memory'), 'get').retriable).toBe(true);
  });

  it('does not retry an answer of the server, nor an error nobody typed', () => {
    const wrongType = redisError(
      reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
      'get',
    );
    expect(wrongType).toMatchObject({ code: 'REDIS', retriable: false });
    expect(wrongType.message).toBe('get: WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(redisError(new Error('odd'), 'get').retriable).toBe(false);
  });
});
