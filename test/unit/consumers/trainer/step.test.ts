import { describe, expect, it } from 'vitest';
import {
  RetrainScheduleError,
  initialScheduleState,
  onChampionChanged,
  onLabeled,
  onTrainingFinished,
  splitRows,
  trainingWindow,
  type RetrainScheduleState,
} from '../../../../consumers/trainer/step.ts';
import { addDays } from '../../../../lib/domain/time.ts';

/** Feeds every day from `from` for `days` days; returns the runs that became due. */
function replay(state: RetrainScheduleState, from: string, days: number, running: (date: string) => boolean) {
  const due = [];
  for (let i = 0; i < days; i++) {
    const date = addDays(from, i);
    const r = onLabeled(state, date, running(date));
    state = r.state;
    if (r.due) due.push(r.due);
  }
  return { due, state };
}

describe('onLabeled', () => {
  it('makes a run due at each Monday, on the data up to the Sunday before', () => {
    const { due } = replay(initialScheduleState(), '2017-01-04', 21, () => false);
    expect(due).toEqual([
      { week: '2017-01-09', coalescedWeeks: 1, dataUntil: '2017-01-08', staleness: null },
      { week: '2017-01-16', coalescedWeeks: 1, dataUntil: '2017-01-15', staleness: null },
      { week: '2017-01-23', coalescedWeeks: 1, dataUntil: '2017-01-22', staleness: null },
    ]);
  });

  it('finds the boundary across a year change (Saturday 31 December to Monday 2 January)', () => {
    let { state } = onLabeled(initialScheduleState(), '2016-12-31', false);
    const r = onLabeled(state, '2017-01-02', false);
    expect(r.due).toMatchObject({ week: '2017-01-02', dataUntil: '2017-01-01', coalescedWeeks: 1 });
    state = r.state;
    expect(onLabeled(state, '2017-01-01', false).due).toBeNull(); // older dates change nothing
    expect(onLabeled(state, '2017-01-08', false).due).toBeNull(); // same week
  });

  it('coalesces the boundaries crossed during a training into one pending run, handed out when it ends', () => {
    const state = onLabeled(initialScheduleState('2016-12-25'), '2017-01-01', false).state;
    const first = onLabeled(state, '2017-01-02', false);
    expect(first.due).toMatchObject({ week: '2017-01-02', staleness: 7 });
    // Training runs for four weeks of replay.
    const during = replay(first.state, '2017-01-03', 28, () => true);
    expect(during.due).toEqual([]);
    expect(during.state.pending).toEqual({ week: '2017-01-30', coalescedWeeks: 4 });
    // It ends, promoted: the champion now knows data up to 2017-01-01.
    const finished = onTrainingFinished(during.state, { promoted: true, dataUntil: '2017-01-01' });
    expect(finished.due).toEqual({
      week: '2017-01-30',
      coalescedWeeks: 4,
      dataUntil: '2017-01-29',
      staleness: 28,
    });
    expect(finished.state.pending).toBeNull();
    expect(finished.state.championDataUntil).toBe('2017-01-01');
    // Nothing pending: nothing due.
    expect(onTrainingFinished(finished.state, { promoted: false, dataUntil: '2017-01-29' }).due).toBeNull();
  });

  it('keeps the champion data end when a run is not promoted', () => {
    const state = {
      ...initialScheduleState('2016-12-25'),
      week: '2017-01-02',
      pending: { week: '2017-01-09', coalescedWeeks: 1 },
    };
    const r = onTrainingFinished(state, { promoted: false, dataUntil: '2017-01-01' });
    expect(r.due).toMatchObject({ week: '2017-01-09', staleness: 14 });
    expect(onChampionChanged(r.state, '2017-01-08').championDataUntil).toBe('2017-01-08');
  });

  it('counts skipped weeks when the stream jumps a gap', () => {
    const state = onLabeled(initialScheduleState(), '2017-01-02', false).state;
    expect(onLabeled(state, '2017-02-01', false).due).toMatchObject({
      week: '2017-01-30',
      coalescedWeeks: 4,
    });
  });
});

describe('training window', () => {
  it('validates on the last K weeks before the boundary and trains on everything earlier', () => {
    expect(trainingWindow('2017-03-06', 8)).toEqual({
      validationStart: '2017-01-09',
      boundary: '2017-03-06',
    });
    expect(() => trainingWindow('2017-03-07')).toThrow(RetrainScheduleError);
    expect(() => trainingWindow('2017-03-06', 0)).toThrow(RetrainScheduleError);
  });

  it('splits rows chronologically and leaves out rows on or after the boundary', () => {
    const dates = ['2017-03-06', '2016-12-01', '2017-01-08', '2017-01-09', '2017-03-05', '2010-01-01'];
    const split = splitRows(dates, trainingWindow('2017-03-06', 8));
    expect(Array.from(split.train)).toEqual([1, 2, 5]);
    expect(Array.from(split.validation)).toEqual([3, 4]);
  });
});
