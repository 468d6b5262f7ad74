import { describe, expect, it } from 'vitest';
import {
  RetrainScheduleError,
  commandSkip,
  commandTraining,
  initialScheduleState,
  onChampionChanged,
  onLabeled,
  onTrainingFinished,
  resumedScheduleState,
  splitRows,
  takePending,
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
    const state: RetrainScheduleState = {
      ...initialScheduleState('2016-12-25'),
      week: '2017-01-02',
      weekHasData: true,
      pending: { week: '2017-01-09', coalescedWeeks: 1 },
    };
    const r = onTrainingFinished(state, { promoted: false, dataUntil: '2017-01-01' });
    expect(r.due).toMatchObject({ week: '2017-01-09', staleness: 14 });
    expect(onChampionChanged(r.state, '2017-01-08').championDataUntil).toBe('2017-01-08');
  });

  it('closes the last week with data at its own end when the stream jumps a hole, counting the hole for nothing', () => {
    // weatherAUS has no April 2011: the last labels of March, then May.
    const state = onLabeled(initialScheduleState('2011-03-20'), '2011-03-30', false).state;
    const after = onLabeled(state, '2011-05-02', false);
    expect(after.due).toEqual({
      week: '2011-04-04',
      coalescedWeeks: 1,
      dataUntil: '2011-04-03',
      staleness: 14,
    });
    // The next week closes at its own boundary, one week of data.
    expect(onLabeled(after.state, '2011-05-09', false).due).toMatchObject({
      week: '2011-05-09',
      coalescedWeeks: 1,
    });
  });

  it('coalesces only weeks with data while busy across a hole', () => {
    let state = onLabeled(initialScheduleState(), '2011-03-21', true).state;
    state = onLabeled(state, '2011-03-28', true).state; // closes 03-21
    state = onLabeled(state, '2011-05-02', true).state; // closes 03-28 (the hole counts nothing)
    expect(state.pending).toEqual({ week: '2011-04-04', coalescedWeeks: 2 });
    // The weeks pending while the history was rebuilt are handed out as one run.
    const { due, state: after } = takePending(state);
    expect(due).toMatchObject({ week: '2011-04-04', coalescedWeeks: 2, dataUntil: '2011-04-03' });
    expect(after.pending).toBeNull();
    expect(takePending(after).due).toBeNull();
  });

  it('resumes after the newest recorded run: that week is a run only once a label of it is seen again', () => {
    // Resumed at boundary 2017-01-09; the rebuilt history replays everything from the start.
    let state = resumedScheduleState('2017-01-09', '2017-01-08');
    for (const d of ['2016-12-01', '2017-01-03', '2017-01-08']) {
      const r = onLabeled(state, d, true);
      expect(r.due).toBeNull();
      state = r.state;
    }
    expect(state.pending).toBeNull();
    state = onLabeled(state, '2017-01-10', true).state;
    const r = onLabeled(state, '2017-01-16', false);
    expect(r.due).toMatchObject({ week: '2017-01-16', coalescedWeeks: 1, staleness: 7 });
    // A resumed week with no label at all (a hole) is no run.
    const holed = onLabeled(resumedScheduleState('2011-04-04', null), '2011-05-02', false);
    expect(holed.due).toBeNull();
    expect(holed.state).toMatchObject({ week: '2011-05-02', weekHasData: true });
  });
});

describe('commands', () => {
  it('train on every labeled row held, outside the weekly runs, under the command', () => {
    const state = { ...initialScheduleState('2017-01-08'), week: '2017-01-09', weekHasData: true };
    expect(
      commandTraining(state, '2017-01-11', {
        id: 'drift:abc',
        reason: 'pressure shift',
        requestedBy: 'drift',
      }),
    ).toEqual({
      week: '2017-01-16',
      coalescedWeeks: 0,
      dataUntil: '2017-01-11',
      staleness: 3,
      command: { id: 'drift:abc', reason: 'pressure shift', requestedBy: 'drift' },
    });
    expect(commandTraining(state, null, { id: 'x', reason: 'r', requestedBy: 'ops' })).toBeNull();
  });

  it('run once per id and only when they are retrain commands', () => {
    const ran = new Set(['a']);
    expect(commandSkip({ id: 'a', kind: 'retrain' }, (id) => ran.has(id))).toBe('already-run');
    expect(commandSkip({ id: 'b', kind: 'retrain' }, (id) => ran.has(id))).toBeNull();
    expect(commandSkip({ id: 'c', kind: 'reboot' as 'retrain' }, () => false)).toBe('unknown-kind');
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
