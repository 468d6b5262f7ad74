import { describe, expect, it } from 'vitest';
import {
  prequentialScoresSql,
  rocAuc,
  rocInputSql,
  SCORE_GROUPINGS,
  scoredPairsSql,
} from '../../../../../../lib/platform/clickhouse/queries/quality.ts';
import { RainstreamError } from '../../../../../../lib/platform/errors.ts';
import { tableCountsSql } from '../../../../../../lib/platform/clickhouse/queries/pipeline.ts';

/** AUC by its definition: over every (positive, negative) pair, 1 when ordered right, 1/2 when tied. */
function bruteForceAuc(pairs: Array<{ p: number; y: number }>): number {
  let sum = 0;
  let count = 0;
  for (const a of pairs) {
    if (a.y !== 1) continue;
    for (const b of pairs) {
      if (b.y !== 0) continue;
      sum += a.p > b.p ? 1 : a.p === b.p ? 0.5 : 0;
      count++;
    }
  }
  return sum / count;
}

function toPoints(pairs: Array<{ p: number; y: number }>) {
  const byP = new Map<number, { probability: number; pos: number; neg: number }>();
  for (const { p, y } of pairs) {
    const point = byP.get(p) ?? { probability: p, pos: 0, neg: 0 };
    if (y === 1) point.pos++;
    else point.neg++;
    byP.set(p, point);
  }
  return [...byP.values()].sort((a, b) => a.probability - b.probability);
}

describe('rocAuc', () => {
  it('matches the pairwise definition, ties included', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const pairs = Array.from({ length: 400 }, () => {
      const y = random() < 0.3 ? 1 : 0;
      // Coarse probabilities so that many ties occur, as with tree models.
      return { p: Math.round((random() * 0.6 + y * 0.3) * 20) / 20, y };
    });
    expect(rocAuc(toPoints(pairs))).toBeCloseTo(bruteForceAuc(pairs), 12);
  });

  it('is 1 for a perfect ranking, 0.5 for all ties, NaN for one class', () => {
    expect(
      rocAuc(
        toPoints([
          { p: 0.1, y: 0 },
          { p: 0.9, y: 1 },
        ]),
      ),
    ).toBe(1);
    expect(
      rocAuc(
        toPoints([
          { p: 0.5, y: 0 },
          { p: 0.5, y: 1 },
        ]),
      ),
    ).toBe(0.5);
    expect(rocAuc(toPoints([{ p: 0.5, y: 1 }]))).toBeNaN();
    expect(rocAuc([])).toBeNaN();
  });
});

describe('analytics SQL', () => {
  it('escapes filter values', () => {
    const text = scoredPairsSql({ location: `O'Hare'; DROP TABLE x; --`, modelVersion: 'v\\1' });
    expect(text).toContain(`location = 'O\\'Hare\\'; DROP TABLE x; --'`);
    expect(text).toContain(`model_version = 'v\\\\1'`);
    expect(() => scoredPairsSql({ from: '2017-01-01 OR 1=1' })).toThrow(RainstreamError);
  });

  it('builds one query per grouping, all reading FINAL', () => {
    for (const g of SCORE_GROUPINGS) {
      expect(prequentialScoresSql(g)).toContain('predictions FINAL');
      expect(rocInputSql(g)).toContain('actuals FINAL');
    }
    expect(tableCountsSql().split('UNION ALL')).toHaveLength(8);
  });
});
