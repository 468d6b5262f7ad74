import { describe, expect, it } from 'vitest';
import { diffKeyed, judgeRun, type RunSnapshot } from '../../fault/compare.ts';

const keyed = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('diffKeyed', () => {
  it('counts lost, extra and differing keys', () => {
    const diff = diffKeyed(keyed({ a: '1', b: '2', c: '3' }), keyed({ a: '1', b: '9', d: '4' }));
    expect(diff).toMatchObject({ expected: 3, found: 3, lost: 1, extra: 1, differing: 1 });
    expect(diff.examples).toEqual(['differs b: 2 / 9', 'lost c', 'extra d']);
  });

  it('finds nothing wrong with an identical run', () => {
    expect(diffKeyed(keyed({ a: '1' }), keyed({ a: '1' }))).toMatchObject({
      lost: 0,
      extra: 0,
      differing: 0,
    });
  });
});

describe('judgeRun', () => {
  const baseline: RunSnapshot = {
    tables: { predictions: keyed({ a: '1', b: '2' }), drift: keyed({ w: 'x' }) },
    topics: { predictions: { records: 2, keys: 2, duplicated: 0 } },
  };

  it('sums the judged tables, counts topic duplicates, and reports the others apart', () => {
    const run: RunSnapshot = {
      tables: { predictions: keyed({ a: '1', b: '3' }), drift: keyed({}) },
      topics: { predictions: { records: 3, keys: 2, duplicated: 1 } },
    };
    const verdict = judgeRun(baseline, run, ['predictions']);
    expect(verdict).toMatchObject({ expected: 2, found: 2, lost: 0, duplicated: 1, differing: 1 });
    expect(verdict.perTable.drift).toMatchObject({ lost: 1 });
  });

  it('counts keys missing from a topic as lost', () => {
    const run: RunSnapshot = {
      tables: { predictions: keyed({ a: '1', b: '2' }), drift: keyed({ w: 'x' }) },
      topics: { predictions: { records: 1, keys: 1, duplicated: 0 } },
    };
    expect(judgeRun(baseline, run).lost).toBe(1);
  });
});
