import { describe, expect, it } from 'vitest';
import type { ClassificationReport, RegressionReport } from '../../../../lib/ml/metrics.ts';
import {
  DEFAULT_POLICY,
  SelectionError,
  scoreCandidate,
  selectModel,
  type Candidate,
  type SelectionPolicy,
} from '../../../../lib/ml/selection.ts';

const W = '2016-01-01..2016-03-31';

function cls(name: string, rocAuc: number, brier: number, ece: number, trainSeconds: number): Candidate {
  const metrics = { task: 'classification', n: 1000, rocAuc, brier, ece } as unknown as ClassificationReport;
  return { name, family: name.split('@')[0]!, task: 'classification', metrics, trainSeconds, window: W };
}

/** A regression candidate: R² follows from RMSE on a window whose targets have variance 16 (sd 4). */
function reg(name: string, rmse: number, trainSeconds: number): Candidate {
  const metrics: RegressionReport = {
    task: 'regression',
    n: 1000,
    rmse,
    mae: rmse,
    r2: 1 - (rmse * rmse) / 16,
  };
  return { name, family: name.split('@')[0]!, task: 'regression', metrics, trainSeconds, window: W };
}

const policy: SelectionPolicy = {
  minPrimary: { classification: 0.8, regression: 0 },
  brierWeight: 1,
  eceWeight: 0.5,
  costPerSecond: 0.001,
  championTolerance: 0.002,
};

describe('scoreCandidate', () => {
  it('subtracts calibration and cost from the primary figure', () => {
    const row = scoreCandidate(cls('gbdt', 0.88, 0.1, 0.02, 5), policy);
    expect(row.primary).toBe(0.88);
    expect(row.calibrationPenalty).toBeCloseTo(0.11, 12);
    expect(row.costPenalty).toBeCloseTo(0.005, 12);
    expect(row.score).toBeCloseTo(0.765, 12);
  });

  it('uses R² for regression, no calibration term', () => {
    const row = scoreCandidate(reg('linreg', 2, 1), policy);
    expect(row.primary).toBe(0.75);
    expect(row.calibrationPenalty).toBe(0);
    expect(row.score).toBeCloseTo(0.749, 12);
  });
});

describe('selectModel', () => {
  it('promotes the best-scoring candidate that passes the gates, not only the top scorer', () => {
    // logreg is better calibrated (higher score) but trails the champion's AUC; the refreshed gbdt holds.
    const d = selectModel(
      [cls('logreg', 0.855, 0.1, 0.01, 0.1), cls('gbdt-warm', 0.8595, 0.14, 0.05, 0.3)],
      cls('champion@gbdt-1', 0.86, 0.14, 0.05, 0),
      policy,
    );
    expect(d.table.map((r) => r.name)).toEqual(['logreg', 'gbdt-warm']);
    expect(d.winner?.name).toBe('gbdt-warm');
    expect(d.promote).toBe(true);
    expect(d.reasons[0]).toMatch(/^logreg scores higher .* but does not pass: .*trails champion/);
  });

  it('names the top scorer as the challenger when no candidate passes', () => {
    const d = selectModel(
      [cls('logreg', 0.85, 0.1, 0.01, 0.1), cls('gbdt-warm', 0.851, 0.14, 0.05, 0.3)],
      cls('champion@gbdt-1', 0.86, 0.14, 0.05, 0),
      policy,
    );
    expect(d.winner?.name).toBe('logreg');
    expect(d.promote).toBe(false);
    expect(d.reasons.at(-1)).toMatch(/trails champion/);
  });

  it('picks the best composite score, not the best AUC alone', () => {
    // forest has the higher AUC but is badly calibrated and slow.
    const d = selectModel(
      [cls('forest', 0.885, 0.13, 0.06, 20), cls('gbdt', 0.88, 0.105, 0.01, 4)],
      null,
      policy,
    );
    expect(d.winner?.name).toBe('gbdt');
    expect(d.table.map((r) => r.name)).toEqual(['gbdt', 'forest']);
    expect(d.promote).toBe(true);
    expect(d.reasons.at(-1)).toBe('no champion yet');
  });

  it('refuses a winner below the minimum', () => {
    const d = selectModel([cls('logreg', 0.75, 0.15, 0.01, 1)], null, policy);
    expect(d.winner?.name).toBe('logreg');
    expect(d.promote).toBe(false);
    expect(d.reasons.join('\n')).toMatch(/below the classification minimum 0.8000/);
  });

  it('refuses a winner that trails the champion by more than the tolerance', () => {
    const champion = cls('gbdt@v3', 0.886, 0.1, 0.01, 0);
    const d = selectModel([cls('gbdt', 0.883, 0.1, 0.01, 4)], champion, policy);
    expect(d.promote).toBe(false);
    expect(d.champion?.primary).toBe(0.886);
    expect(d.reasons.join('\n')).toMatch(/trails champion gbdt@v3/);
  });

  it('promotes a winner within the tolerance of the champion (fresher data, same quality)', () => {
    const champion = cls('gbdt@v3', 0.886, 0.1, 0.01, 0);
    const d = selectModel([cls('gbdt', 0.8845, 0.1, 0.01, 4)], champion, policy);
    expect(d.promote).toBe(true);
    expect(d.reasons.join('\n')).toMatch(/holds against champion/);
  });

  it('does not compare against a champion scored on another window', () => {
    const champion = { ...cls('gbdt@v3', 0.8, 0.1, 0.01, 0), window: '2015-10-01..2015-12-31' };
    const d = selectModel([cls('gbdt', 0.9, 0.1, 0.01, 4)], champion, policy);
    expect(d.promote).toBe(false);
    expect(d.reasons.join('\n')).toMatch(/no fair comparison/);
  });

  it('sets failed and unscorable candidates aside with a reason', () => {
    const failed: Candidate = {
      name: 'mlrf',
      family: 'mlrf',
      task: 'classification',
      trainSeconds: 3,
      window: W,
      error: 'worker crashed',
    };
    const nan = cls('forest', NaN, 0.1, 0.01, 1);
    const d = selectModel([failed, nan, cls('gbdt', 0.87, 0.1, 0.01, 4)], null, policy);
    expect(d.winner?.name).toBe('gbdt');
    expect(d.table.map((r) => [r.name, r.eligible])).toEqual([
      ['gbdt', true],
      ['forest', false],
      ['mlrf', false],
    ]);
    expect(d.reasons[0]).toMatch(/forest not eligible: primary metric is not finite/);
    expect(d.reasons[1]).toBe('mlrf not eligible: training failed: worker crashed');
  });

  it('returns no winner when nothing is eligible', () => {
    const failed: Candidate = {
      name: 'gbdt',
      family: 'gbdt',
      task: 'classification',
      trainSeconds: 0,
      window: W,
      error: 'x',
    };
    const d = selectModel([failed], null, policy);
    expect(d.winner).toBeNull();
    expect(d.promote).toBe(false);
  });

  it('breaks score ties by training time, independent of input order', () => {
    const a = cls('a', 0.88, 0.1, 0.01, 0);
    const b = cls('b', 0.88, 0.1, 0.01, 0);
    expect(selectModel([a, b], null, policy).winner?.name).toBe('a');
    expect(selectModel([b, a], null, policy).winner?.name).toBe('a');
  });

  it('selects regression candidates by R² (the order RMSE gives on one window)', () => {
    const d = selectModel([reg('linreg', 3, 0.1), reg('gbdt', 2, 3)], null, policy);
    expect(d.winner?.name).toBe('gbdt');
    expect(d.promote).toBe(true);
    expect(selectModel([reg('linreg', 6, 0.1)], null, policy).promote).toBe(false);
  });

  it('with mustBeatChampion, promotes only a winner strictly better than the champion', () => {
    const strict: SelectionPolicy = { ...policy, championTolerance: 0, mustBeatChampion: true };
    const level = selectModel([reg('gbdt', 2, 0)], reg('champion@gbdt-1', 2, 0), strict);
    expect(level.promote).toBe(false);
    expect(level.reasons.at(-1)).toMatch(/does not beat champion/);
    expect(selectModel([reg('gbdt', 1.9, 0)], reg('champion@gbdt-1', 2, 0), strict).promote).toBe(true);
    // The same tie passes without the strict gate.
    expect(selectModel([reg('gbdt', 2, 0)], reg('champion@gbdt-1', 2, 0), policy).promote).toBe(true);
  });

  it('rejects inconsistent inputs', () => {
    expect(() => selectModel([], null)).toThrow(SelectionError);
    expect(() => selectModel([cls('a', 0.8, 0.1, 0, 0), reg('b', 1, 0)], null)).toThrow(/mix tasks/);
    expect(() =>
      selectModel([cls('a', 0.8, 0.1, 0, 0), { ...cls('b', 0.8, 0.1, 0, 0), window: 'x' }], null),
    ).toThrow(/different windows/);
    expect(DEFAULT_POLICY.minPrimary.classification).toBeGreaterThan(0.5);
  });
});
