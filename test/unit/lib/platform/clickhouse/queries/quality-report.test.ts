import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  qualityRows,
  thresholdScores,
} from '../../../../../../lib/platform/clickhouse/queries/quality-report.ts';

describe('averagePrecision', () => {
  it("equals scikit-learn's average_precision_score on its documented example", () => {
    // y_true = [0, 0, 1, 1], y_score = [0.1, 0.4, 0.35, 0.8] -> 0.8333...
    const points = [
      { probability: 0.1, pos: 0, neg: 1 },
      { probability: 0.4, pos: 0, neg: 1 },
      { probability: 0.35, pos: 1, neg: 0 },
      { probability: 0.8, pos: 1, neg: 0 },
    ];
    expect(averagePrecision(points)).toBeCloseTo(0.8333333333, 9);
  });

  it('treats tied probabilities as one threshold, and has no value without positives', () => {
    // All tied: precision is the prevalence at the only threshold.
    expect(averagePrecision([{ probability: 0.5, pos: 1, neg: 3 }])).toBeCloseTo(0.25, 12);
    expect(averagePrecision([{ probability: 0.5, pos: 0, neg: 3 }])).toBeNaN();
  });
});

describe('thresholdScores', () => {
  it('computes accuracy, precision, recall and F1 from the confusion counts', () => {
    const s = thresholdScores({ tp: 30, fp: 10, fn: 20, tn: 40 });
    expect(s.accuracy).toBeCloseTo(0.7, 12);
    expect(s.precision).toBeCloseTo(0.75, 12);
    expect(s.recall).toBeCloseTo(0.6, 12);
    expect(s.f1).toBeCloseTo((2 * 0.75 * 0.6) / (0.75 + 0.6), 12);
  });

  it('says NaN where a ratio has nothing below it, 0 F1 when positives were all missed', () => {
    expect(thresholdScores({ tp: 0, fp: 0, fn: 5, tn: 5 })).toMatchObject({
      precision: NaN,
      recall: 0,
      f1: 0,
    });
    expect(thresholdScores({ tp: 0, fp: 0, fn: 0, tn: 0 }).accuracy).toBeNaN();
    expect(thresholdScores({ tp: 0, fp: 2, fn: 0, tn: 5 }).f1).toBeNaN();
  });
});

describe('qualityRows', () => {
  it('joins the three aggregations per bucket, bins sorted, curves sorted before the AUC', () => {
    const rows = qualityRows(
      [
        {
          bucket: 'Sydney',
          n: 4,
          positives: 2,
          brier: 0.1,
          mean_probability: 0.5,
          tp: 1,
          fp: 0,
          fn: 1,
          tn: 2,
        },
      ],
      [
        { bucket: 'Sydney', p: 0.9, pos: 1, neg: 0 },
        { bucket: 'Sydney', p: 0.2, pos: 0, neg: 2 },
        { bucket: 'Sydney', p: 0.4, pos: 1, neg: 0 },
      ],
      [
        { bucket: 'Sydney', bin: 9, n: 1, mean_probability: 0.9, observed: 1 },
        { bucket: 'Sydney', bin: 2, n: 2, mean_probability: 0.2, observed: 0 },
      ],
      0.5,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ bucket: 'Sydney', rocAuc: 1, prAuc: 1, accuracy: 0.75, threshold: 0.5 });
    expect(rows[0]!.calibration.map((b) => [b.bin, b.from, b.to])).toEqual([
      [2, 0.2, 0.3],
      [9, 0.9, 1],
    ]);
  });
});
