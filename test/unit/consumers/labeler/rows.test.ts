import { describe, expect, it } from 'vitest';
import { actualRow, labeledRow } from '../../../../consumers/labeler/rows.ts';
import { floatsForJson } from '../../../../lib/platform/clickhouse/sql.ts';

describe('label join rows', () => {
  it('writes NaN as the string ClickHouse reads back as nan, never null or 0', () => {
    expect(floatsForJson([1, NaN, Infinity, -Infinity, 0])).toEqual([1, 'nan', 'inf', '-inf', 0]);
  });

  it('keeps an unknown label unknown', () => {
    const row = actualRow(
      {
        location: 'X',
        date: '2010-01-01',
        status: 'missing',
        reason: 'gap',
        rainTomorrow: null,
        rainfallTomorrowMm: null,
        task: 'rain',
        actualValue: null,
      },
      0,
      1,
    );
    expect(row.rain_tomorrow).toBeNull();
    const joined = labeledRow(
      {
        location: 'X',
        date: '2010-01-01',
        featureSetVersion: 'fs1',
        values: [NaN],
        label: true,
        rainfallNext: 3,
        task: 'rain',
        target: null,
        value: null,
        probability: 0.2,
        modelVersion: 'm',
      },
      1,
    );
    expect(joined).toMatchObject({ features: ['nan'], label: 1, rainfall_next: 3 });
  });

  it("carries the task and a regression task's values", () => {
    const actual = actualRow(
      {
        task: 'max_temp',
        location: 'X',
        date: '2010-01-01',
        status: 'joined',
        reason: null,
        rainTomorrow: false,
        rainfallTomorrowMm: 0,
        actualValue: 31.5,
      },
      0,
      1,
    );
    expect(actual).toMatchObject({ task: 'max_temp', actual_value: 31.5 });
    const labeled = labeledRow(
      {
        task: 'max_temp',
        location: 'X',
        date: '2010-01-01',
        featureSetVersion: 'fs1',
        values: [1],
        label: false,
        target: 31.5,
        value: 29,
        rainfallNext: 0,
        probability: 0,
        modelVersion: 'prior-persistence',
      },
      1,
    );
    expect(labeled).toMatchObject({ task: 'max_temp', label: 0, target: 31.5, value: 29 });
  });
});
