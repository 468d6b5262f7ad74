import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MetricsError,
  averagePrecision,
  brier,
  calibrationTable,
  classificationReport,
  confusionMatrix,
  logLoss,
  mae,
  r2,
  regressionReport,
  rmse,
  rocAuc,
  thresholdMetrics,
} from '../../../../lib/ml/metrics.ts';

const f = (xs: number[]) => Float64Array.from(xs);

describe('hand-computed cases', () => {
  it('ROC AUC counts pairs, ties counting one half', () => {
    expect(rocAuc(f([0, 0, 1, 1]), f([0.1, 0.4, 0.35, 0.8]))).toBeCloseTo(0.75, 12);
    expect(rocAuc(f([0, 1, 1]), f([0.2, 0.2, 0.9]))).toBeCloseTo(0.75, 12);
    expect(rocAuc(f([0, 1, 0, 1]), f([0.5, 0.5, 0.5, 0.5]))).toBe(0.5);
    expect(rocAuc(f([1, 1, 0, 0]), f([0.9, 0.8, 0.2, 0.1]))).toBe(1);
    expect(rocAuc(f([1, 1, 0, 0]), f([0.1, 0.2, 0.8, 0.9]))).toBe(0);
  });

  it('ROC AUC is NaN with one class only', () => {
    expect(rocAuc(f([1, 1]), f([0.3, 0.4]))).toBeNaN();
  });

  it('average precision sums recall steps times precision at distinct thresholds', () => {
    expect(averagePrecision(f([0, 0, 1, 1]), f([0.1, 0.4, 0.35, 0.8]))).toBeCloseTo(5 / 6, 12);
    // Tie at 0.5 of one positive and one negative: one step (R 0.5, P 0.5), then (R 1, P 2/3).
    expect(averagePrecision(f([1, 0, 1]), f([0.5, 0.5, 0.1]))).toBeCloseTo(0.25 + 1 / 3, 12);
    expect(averagePrecision(f([0, 0]), f([0.5, 0.1]))).toBeNaN();
  });

  it('threshold metrics predict positive at score >= threshold', () => {
    const m = thresholdMetrics(f([1, 1, 0, 0, 1]), f([0.9, 0.5, 0.5, 0.2, 0.1]), 0.5);
    expect(m.confusion).toEqual({ tp: 2, fp: 1, tn: 1, fn: 1 });
    expect(m.accuracy).toBeCloseTo(0.6, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    const none = thresholdMetrics(f([1, 0]), f([0.1, 0.2]), 0.5);
    expect(none.precision).toBe(0);
    expect(none.f1).toBe(0);
    expect(confusionMatrix(f([1, 0]), f([0.1, 0.2]), 0.15)).toEqual({ tp: 0, fp: 1, tn: 0, fn: 1 });
  });

  it('Brier and log loss, with clipping of certain misses', () => {
    expect(brier(f([1, 0]), f([0.8, 0.3]))).toBeCloseTo(0.065, 12);
    expect(logLoss(f([1, 0]), f([0.8, 0.3]))).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(logLoss(f([1]), f([0]))).toBeCloseTo(-Math.log(1e-15), 9);
  });

  it('calibration bins put a value on an inner edge in the lower bin', () => {
    const t = calibrationTable(f([0, 1, 1]), f([0.1, 0.15, 0.9]), 10);
    expect(t.bins.map((b) => [b.lower, b.count, b.meanPredicted, b.observedRate])).toEqual([
      [0, 1, 0.1, 0],
      [0.1, 1, 0.15, 1],
      [0.8, 1, 0.9, 1],
    ]);
    expect(t.ece).toBeCloseTo((0.1 + 0.85 + 0.1) / 3, 12);
  });

  it('regression metrics', () => {
    expect(rmse(f([1, 2, 3]), f([1, 2, 5]))).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(mae(f([1, 2, 3]), f([1, 2, 5]))).toBeCloseTo(2 / 3, 12);
    expect(r2(f([1, 2, 3]), f([1, 2, 5]))).toBeCloseTo(-1, 12);
    expect(r2(f([2, 2]), f([2, 2]))).toBe(1);
    expect(r2(f([2, 2]), f([2, 3]))).toBe(0);
    expect(regressionReport(f([1, 2, 3]), f([1, 2, 3]))).toEqual({
      task: 'regression',
      n: 3,
      rmse: 0,
      mae: 0,
      r2: 1,
    });
  });

  it('rejects malformed input with a typed error', () => {
    expect(() => rocAuc(f([0, 1]), f([0.1]))).toThrow(MetricsError);
    expect(() => rocAuc(f([0, 2]), f([0.1, 0.2]))).toThrow(/expected 0 or 1/);
    expect(() => rocAuc(f([0, 1]), f([0.1, NaN]))).toThrow(MetricsError);
    expect(() => brier(f([0, 1]), f([0.1, 1.2]))).toThrow(/outside \[0, 1\]/);
    expect(() => rmse(f([]), f([]))).toThrow(/no rows/);
    expect(() => calibrationTable(f([1]), f([0.5]), 0)).toThrow(MetricsError);
  });
});

describe("against scikit-learn's figures on test/fixtures/ml/metrics-fixture.csv", () => {
  const dir = new URL('../../../fixtures/ml/', import.meta.url);
  const lines = readFileSync(new URL('metrics-fixture.csv', dir), 'utf8').trim().split('\n').slice(1);
  const cols = [0, 1, 2, 3].map((c) => Float64Array.from(lines, (l) => Number(l.split(',')[c])));
  const [y, score, yReg, yRegHat] = cols as [Float64Array, Float64Array, Float64Array, Float64Array];
  const sk = JSON.parse(readFileSync(new URL('metrics-sklearn.json', dir), 'utf8'));

  it('reads the 500 rows the figures were computed on', () => {
    expect(y.length).toBe(sk.n);
    expect(new Set(score).size).toBeLessThan(score.length / 4); // plenty of ties
  });

  it('classification figures match to 1e-12', () => {
    const r = classificationReport(y, score, sk.threshold);
    expect(r.rocAuc).toBeCloseTo(sk.roc_auc, 12);
    expect(r.prAuc).toBeCloseTo(sk.average_precision, 12);
    expect(r.accuracy).toBeCloseTo(sk.accuracy, 12);
    expect(r.precision).toBeCloseTo(sk.precision, 12);
    expect(r.recall).toBeCloseTo(sk.recall, 12);
    expect(r.f1).toBeCloseTo(sk.f1, 12);
    expect(r.brier).toBeCloseTo(sk.brier, 12);
    expect(r.logLoss).toBeCloseTo(sk.log_loss, 12);
    expect(r.confusion).toEqual(sk.confusion);
  });

  it('calibration table matches calibration_curve bin for bin', () => {
    const t = calibrationTable(y, score, 10);
    expect(t.bins.map((b) => b.count)).toEqual(sk.calibration.count);
    t.bins.forEach((b, i) => {
      expect(b.meanPredicted).toBeCloseTo(sk.calibration.mean_predicted[i], 12);
      expect(b.observedRate).toBeCloseTo(sk.calibration.observed_rate[i], 12);
    });
  });

  it('regression figures match', () => {
    expect(rmse(yReg, yRegHat)).toBeCloseTo(sk.rmse, 12);
    expect(mae(yReg, yRegHat)).toBeCloseTo(sk.mae, 12);
    expect(r2(yReg, yRegHat)).toBeCloseTo(sk.r2, 12);
  });
});
