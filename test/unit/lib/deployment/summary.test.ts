import { describe, expect, it } from 'vitest';
import { expectedLabels } from '../../../../lib/deployment/drain.ts';
import { retrainingFigures, summaryFigures } from '../../../../lib/deployment/summary.ts';
import type { TrainingRunFacts } from '../../../../lib/platform/clickhouse/queries/training.ts';
import { addDays } from '../../../../lib/domain/time.ts';

function run(week: string, o: Partial<TrainingRunFacts> = {}): TrainingRunFacts {
  return {
    runId: `week-${week}`,
    week,
    dataUntil: addDays(week, -1),
    coalescedWeeks: 1,
    stalenessDays: 7,
    seconds: 1,
    trained: true,
    promoted: true,
    commandId: '',
    ...o,
  };
}

/** Mondays from `from`, `n` of them. */
const mondays = (from: string, n: number) => Array.from({ length: n }, (_, i) => addDays(from, 7 * i));

describe('retrainingFigures', () => {
  it('counts the weeks after the first champion, each with a run of its own', () => {
    const weeks = mondays('2010-01-04', 10);
    // Runs close weeks 2010-01-04 .. 2010-03-01 (boundaries a week later); the last week has none.
    const runs = weeks.slice(1).map((w, i) => run(w, { seconds: i + 1 }));
    const f = retrainingFigures(runs, weeks, '2010-01-20');
    expect(f).toMatchObject({
      weeksReplayed: 7, // 2010-01-18 .. 2010-03-01; the last (2010-03-08) needs the week after it
      weeksTrained: 7,
      maxCoalescedWeeks: 1,
      maxStalenessDays: 7,
      weeklyRuns: 9,
      commandRuns: 0,
      retrainP50: 5,
      retrainP90: 9,
    });
  });

  it('shows coalesced weeks as weeks without a run of their own', () => {
    const weeks = mondays('2010-01-04', 6);
    const runs = [
      run('2010-01-11'),
      run('2010-02-01', { coalescedWeeks: 3, stalenessDays: 21 }),
      run('2010-02-08'),
    ];
    const f = retrainingFigures(runs, weeks, '2010-01-04');
    expect(f).toMatchObject({
      weeksReplayed: 5,
      weeksTrained: 3,
      maxCoalescedWeeks: 3,
      maxStalenessDays: 21,
    });
  });

  it('leaves out the staleness across a hole in the data, and the command runs from the weekly figures', () => {
    // No data in the weeks of April 2011.
    const weeks = [...mondays('2011-03-07', 4), ...mondays('2011-05-02', 3)];
    const runs = [
      run('2011-03-14'),
      run('2011-03-21'),
      run('2011-03-28'),
      run('2011-04-04'),
      run('2011-05-09', { stalenessDays: 35 }),
      run('2011-05-16'),
      run('2011-05-23', { commandId: 'ops-1', coalescedWeeks: 0, seconds: 100, dataUntil: '2011-05-18' }),
    ];
    const f = retrainingFigures(runs, weeks, '2011-03-07');
    expect(f).toMatchObject({
      weeksReplayed: 6,
      weeksTrained: 6,
      maxCoalescedWeeks: 1,
      maxStalenessDays: 7,
      weeklyRuns: 6,
      commandRuns: 1,
      retrainP90: 1,
    });
  });

  it('counts nothing before a trained champion', () => {
    expect(retrainingFigures([run('2010-01-11', { trained: false })], ['2010-01-04'], null)).toMatchObject({
      weeksReplayed: 0,
      weeksTrained: 0,
      maxStalenessDays: null,
      retrainP50: null,
    });
  });
});

describe('expectedLabels', () => {
  it('counts the days whose next day was replayed with a known RainToday', () => {
    const obs = [
      { location: 'Sydney', date: '2010-01-01', rainToday: true },
      { location: 'Sydney', date: '2010-01-02', rainToday: false }, // labels 01-01
      { location: 'Sydney', date: '2010-01-03', rainToday: null }, // labels 01-02 as unknown
      { location: 'Sydney', date: '2010-01-05', rainToday: true }, // 01-04 missing: 01-03 has no label
      { location: 'Perth', date: '2010-01-02', rainToday: true }, // Sydney's day does not label Perth
    ];
    expect(expectedLabels(obs)).toBe(1);
  });
});

describe('summaryFigures', () => {
  it('leaves out what could not be measured', () => {
    expect(summaryFigures({ a: 1, b: null, c: undefined, d: Number.NaN, e: 0.5 })).toEqual([
      ['a', 1],
      ['e', 0.5],
    ]);
  });
});
