import { describe, expect, it } from 'vitest';
import type { LabeledExample } from '../../../../lib/domain/events.ts';
import { LabeledHistory } from '../../../../consumers/trainer/labeled-history.ts';

const names = ['a', 'b', 'c'];
const example = (location: string, date: string, values: number[], label: boolean): LabeledExample => ({
  location,
  date,
  featureSetVersion: 'fs1',
  values,
  label,
  rainfallNext: null,
  task: 'rain',
  target: null,
  value: null,
  probability: 0.3,
  modelVersion: 'm',
});

describe('LabeledHistory', () => {
  it('stores rows and slices them column-major with targets', () => {
    const h = new LabeledHistory(names, 1);
    h.add(example('X', '2010-01-01', [1, 2, 3], true));
    h.add(example('X', '2010-01-02', [4, NaN, 6], false));
    h.add(example('Y', '2010-01-01', [7, 8, 9], true));
    expect(h.size).toBe(3);
    const { data, target } = h.slice([2, 0]);
    expect(data.nRows).toBe(2);
    expect(Array.from(data.data)).toEqual([7, 1, 8, 2, 9, 3]);
    expect(Array.from(target)).toEqual([1, 1]);
    const second = h.slice([1]);
    expect(Number.isNaN(second.data.data[1])).toBe(true);
  });

  it('keeps one row per (location, date) when an example is delivered twice', () => {
    const h = new LabeledHistory(names);
    h.add(example('X', '2010-01-01', [1, 2, 3], true));
    h.add(example('X', '2010-01-01', [1, 2, 3], false));
    expect(h.size).toBe(1);
    expect(h.dates).toEqual(['2010-01-01']);
    expect(Array.from(h.slice([0]).target)).toEqual([0]);
  });

  it('refuses an example of another width', () => {
    const h = new LabeledHistory(names);
    expect(h.add(example('X', '2010-01-01', [1, 2], true))).toBe(false);
    expect(h.size).toBe(0);
  });
});
