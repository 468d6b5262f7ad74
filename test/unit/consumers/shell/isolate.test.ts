import { describe, expect, it } from 'vitest';
import { stepEach } from '../../../../consumers/shell/isolate.ts';

describe('stepEach', () => {
  it('runs every item, sets aside the ones that throw with their error, keeps the order of the rest', () => {
    const done: number[] = [];
    const boom = new RangeError('Invalid time value');
    const failures = stepEach([1, 2, 3, 4], (n) => {
      if (n === 2) throw boom;
      done.push(n);
    });
    expect(done).toEqual([1, 3, 4]);
    expect(failures).toEqual([{ item: 2, index: 1, error: boom }]);
  });

  it('keeps going when every item fails', () => {
    const failures = stepEach(['a', 'b'], () => {
      throw new Error('bad');
    });
    expect(failures.map((f) => f.item)).toEqual(['a', 'b']);
  });
});
