import { describe, expect, it } from 'vitest';
import { alreadySent, comparePositions, lastDayEverywhere } from '../../../../producers/replay/checkpoint.ts';

describe('replay checkpoint', () => {
  const checkpoint = new Map([
    [0, { date: '2014-03-02', location: 'Perth' }],
    [1, { date: '2014-03-01', location: 'Sydney' }],
  ]);

  it('orders by date, then station, as the replay plan does', () => {
    expect(
      comparePositions({ date: '2014-03-01', location: 'Zz' }, { date: '2014-03-02', location: 'Aa' }),
    ).toBe(-1);
    expect(
      comparePositions({ date: '2014-03-01', location: 'Albury' }, { date: '2014-03-01', location: 'Perth' }),
    ).toBe(-1);
    expect(
      comparePositions({ date: '2014-03-01', location: 'Perth' }, { date: '2014-03-01', location: 'Perth' }),
    ).toBe(0);
  });

  it('says an observation is in the log when its partition reached it, and only then', () => {
    expect(alreadySent(checkpoint, 0, { date: '2014-03-02', location: 'Perth' })).toBe(true);
    expect(alreadySent(checkpoint, 0, { date: '2014-03-02', location: 'Albany' })).toBe(true);
    expect(alreadySent(checkpoint, 0, { date: '2014-03-02', location: 'PerthAirport' })).toBe(false);
    expect(alreadySent(checkpoint, 1, { date: '2014-03-02', location: 'Albury' })).toBe(false);
    expect(alreadySent(checkpoint, 2, { date: '2000-01-01', location: 'Cairns' })).toBe(false);
  });

  it('reports the last day every partition reached', () => {
    expect(lastDayEverywhere(checkpoint)).toBe('2014-03-01');
    expect(lastDayEverywhere(new Map())).toBeNull();
  });
});
