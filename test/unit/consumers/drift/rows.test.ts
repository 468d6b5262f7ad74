import { describe, expect, it } from 'vitest';
import { driftRow } from '../../../../consumers/drift/rows.ts';

describe('drift rows', () => {
  it('keys a statistic by week, model, kind and name, with a finite value and a 0/1 alert', () => {
    const row = driftRow(
      {
        week: '2016-02-22',
        modelVersion: 'gbdt-2016-02-15',
        kind: 'feature',
        name: 'humidity3pm',
        statistic: 'psi',
        value: NaN,
        threshold: 0.2,
        alert: true,
        n: 340,
      },
      1_700_000_000_500,
      42,
    );
    expect(row).toEqual({
      week: '2016-02-22',
      model_version: 'gbdt-2016-02-15',
      kind: 'feature',
      name: 'humidity3pm',
      statistic: 'psi',
      value: 0,
      threshold: 0.2,
      alert: 1,
      n: 340,
      computed_at: 1_700_000_000,
      ver: 42,
    });
  });
});
