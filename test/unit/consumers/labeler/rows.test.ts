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
        probability: 0.2,
        modelVersion: 'm',
      },
      1,
    );
    expect(joined).toMatchObject({ features: ['nan'], label: 1, rainfall_next: 3 });
  });
});
