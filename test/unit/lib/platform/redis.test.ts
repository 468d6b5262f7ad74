import { describe, expect, it } from 'vitest';
import { prefixedKey } from '../../../../lib/platform/redis.ts';

describe('prefixedKey', () => {
  it('joins the prefix and the parts with colons', () => {
    expect(prefixedKey('rs', ['state', 'Albury', 2017])).toBe('rs:state:Albury:2017');
    expect(prefixedKey('t:redis:ab12', ['champion'])).toBe('t:redis:ab12:champion');
  });
});
