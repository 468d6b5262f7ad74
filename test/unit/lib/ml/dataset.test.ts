import { describe, expect, it } from 'vitest';
import {
  DatasetError,
  datasetFromColumns,
  datasetFromRows,
  readRow,
  sliceRows,
  sliceValues,
  splitByDate,
  splitLatestFraction,
} from '../../../../lib/ml/dataset.ts';

describe('datasetFromRows', () => {
  it('lays rows out column-major with null as NaN', () => {
    const d = datasetFromRows(
      ['a', 'b'],
      [
        [1, 2],
        [3, null],
        [5, 6],
      ],
    );
    expect(d.nRows).toBe(3);
    expect(d.data).toBeInstanceOf(Float32Array);
    expect(Array.from(d.data)).toEqual([1, 3, 5, 2, NaN, 6]);
    expect(Array.from(readRow(d, 1))).toEqual([3, NaN]);
  });

  it('keeps float64 when asked and rejects ragged rows', () => {
    expect(datasetFromRows(['a'], [[0.1]], { precision: 'float64' }).data[0]).toBe(0.1);
    expect(() => datasetFromRows(['a', 'b'], [[1, 2], [3]])).toThrow(DatasetError);
  });

  it('wraps a column buffer only when its size fits', () => {
    expect(datasetFromColumns(['a', 'b'], 2, new Float64Array(4)).nRows).toBe(2);
    expect(() => datasetFromColumns(['a', 'b'], 3, new Float64Array(4))).toThrow(/expected 3 rows x 2/);
  });
});

describe('sliceRows', () => {
  const d = datasetFromRows(
    ['a', 'b'],
    [
      [1, 10],
      [2, 20],
      [3, 30],
    ],
  );

  it('takes rows in the given order, same precision', () => {
    const s = sliceRows(d, [2, 0]);
    expect(s.nRows).toBe(2);
    expect(s.data).toBeInstanceOf(Float32Array);
    expect(Array.from(s.data)).toEqual([3, 1, 30, 10]);
    expect(Array.from(sliceValues([7, 8, 9], [2, 0]))).toEqual([9, 7]);
  });

  it('rejects an index outside the dataset', () => {
    expect(() => sliceRows(d, [3])).toThrow(DatasetError);
  });
});

describe('chronological splits', () => {
  const dates = ['2016-01-02', '2015-12-31', '2016-01-01', '2015-06-01', '2016-01-01'];

  it('splits at a cutoff date, keeping row order', () => {
    const s = splitByDate(dates, '2016-01-01');
    expect(Array.from(s.train)).toEqual([1, 3]);
    expect(Array.from(s.test)).toEqual([0, 2, 4]);
  });

  it('holds out the latest rows without splitting a day', () => {
    const s = splitLatestFraction(dates, 0.3);
    // 5 rows, cut at 3 would separate the two 2016-01-01 rows: the cut moves back to keep them together.
    expect(Array.from(s.train)).toEqual([3, 1]);
    expect(Array.from(s.test)).toEqual([2, 4, 0]);
    expect(() => splitLatestFraction(dates, 1)).toThrow(DatasetError);
  });
});
