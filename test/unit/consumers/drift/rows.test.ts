import { describe, expect, it } from 'vitest';
import { driftRow, incidentRow, performanceRow, stationRow } from '../../../../consumers/drift/rows.ts';
import type { Incident, PerformanceRow, StationWeekRow } from '../../../../consumers/drift/step.ts';

describe('drift rows', () => {
  const pooled = {
    week: '2016-02-22',
    modelVersion: 'gbdt-2016-02-15',
    station: '*',
    kind: 'shift' as const,
    name: 'humidity3pm',
    statistic: 'mean_z',
    value: 0.41,
    threshold: NaN,
    alert: true,
    n: 340,
  };

  it('keys a pooled statistic by task, week, model, station, kind and name; no threshold is written as 0', () => {
    expect(driftRow('rain', pooled, 1_700_000_000_500, 42)).toEqual({
      task: 'rain',
      week: '2016-02-22',
      model_version: 'gbdt-2016-02-15',
      station: '*',
      kind: 'shift',
      name: 'humidity3pm',
      statistic: 'mean_z',
      value: 0.41,
      threshold: 0,
      alert: 1,
      n: 340,
      computed_at: 1_700_000_000,
      ver: 42,
    });
  });

  it('writes no row for a statistic that is not a number (an empty week)', () => {
    expect(driftRow('rain', { ...pooled, value: NaN }, 0, 1)).toBeNull();
  });

  it('leaves unknown station statistics out (ClickHouse writes NULL), never 0, and shortens numbers', () => {
    const r: StationWeekRow = {
      week: '2016-02-22',
      modelVersion: 'm',
      station: 'Albury',
      feature: 'pressure3pm',
      rank: 4,
      importance: 0.09,
      rows: 7,
      valued: 0,
      missingShare: 1,
      missingThreshold: 0.85,
      anomaly: null,
      residualZ: null,
      shiftThreshold: 7.5,
      residualZ2: NaN,
      shiftThreshold2: 5.9,
      spreadLogRatio: null,
      stuckThreshold: null,
      missingBreach: true,
      shiftBreach: false,
      stuckBreach: false,
    };
    const row = stationRow('max_temp', { ...r, shiftThreshold: 7.123456789 }, 0, 1);
    expect(row).toMatchObject({
      task: 'max_temp',
      missing_breach: 1,
      shift_breach: 0,
      shift_threshold: 7.12346,
    });
    expect(row).not.toHaveProperty('anomaly');
    expect(row).not.toHaveProperty('residual_z2');
  });

  it('versions an incident row by the day number of the week it changed in', () => {
    const incident = { id: 'shift:Albury:pressure3pm:2016-02-22', resolvedWeek: null } as Incident;
    expect(incidentRow('rain', incident, '2016-02-29').ver).toBe(16860);
    expect(incidentRow('rain', incident, '2016-03-07').ver).toBeGreaterThan(
      incidentRow('rain', incident, '2016-02-29').ver,
    );
    expect(incidentRow('max_temp', incident, '2016-02-29').task).toBe('max_temp');
  });

  it("writes a regression week's realized RMSE and MAE with no accuracy or Brier (NULL, not 0)", () => {
    const r: PerformanceRow = {
      week: '2016-02-22',
      modelVersion: 'max_temp.gbdt-2016-02-15',
      station: '*',
      basis: 'realized',
      n: 300,
      accuracy: null,
      brier: null,
      expectedAccuracy: null,
      referenceAccuracy: null,
      referenceBrier: null,
      ece: null,
      rmse: 2.5,
      mae: 1.9,
      referenceRmse: 2.1,
    };
    expect(performanceRow('max_temp', r, 0, 1)).toMatchObject({
      task: 'max_temp',
      accuracy: null,
      brier: null,
      rmse: 2.5,
      mae: 1.9,
      reference_rmse: 2.1,
    });
  });
});
