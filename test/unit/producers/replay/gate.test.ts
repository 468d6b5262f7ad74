import { describe, expect, it } from 'vitest';
import { addDays } from '../../../../lib/domain/time.ts';
import { canNeedWait, gateVerdict, type GateFacts } from '../../../../producers/replay/gate.ts';

/** A deployment whose pipeline has predicted and labeled everything sent up to 2010-01-30. */
const atRest: GateFacts = {
  predicted: '2010-01-30',
  pipelineIdle: true,
  reachableUntil: '2010-01-24',
  trainedUntil: '2010-01-17',
};

describe('gateVerdict (lead 7 days)', () => {
  it('lets a day go once the weekly runs have the data up to a week before it', () => {
    expect(gateVerdict('2010-01-17', '2010-01-23', atRest)).toBe('go');
    expect(gateVerdict('2010-01-10', '2010-01-16', atRest)).toBe('go');
  });

  it('holds the replay until the run the labels make due is recorded', () => {
    // 2010-01-31 needs data up to 2010-01-24; the labels allow the run of the week ending 2010-01-24.
    expect(gateVerdict('2010-01-24', '2010-01-30', atRest)).toBe('wait-training');
    expect(gateVerdict('2010-01-24', '2010-01-30', { ...atRest, trainedUntil: '2010-01-24' })).toBe('go');
  });

  it('waits for the pipeline before judging from the labels', () => {
    expect(gateVerdict('2010-01-24', '2010-01-30', { ...atRest, predicted: '2010-01-29' })).toBe(
      'wait-pipeline',
    );
    // The label join still reading: the labels in the store are not all there is.
    expect(gateVerdict('2010-01-24', '2010-01-30', { ...atRest, pipelineIdle: false })).toBe('wait-pipeline');
    // Already trained far enough: no need to look at the pipeline.
    expect(
      gateVerdict('2010-01-17', '2010-01-30', { ...atRest, pipelineIdle: false, predicted: '2010-01-01' }),
    ).toBe('go');
  });

  it('does not wait for a run the labels cannot produce: a hole in the data', () => {
    // No April 2011: after March 31 the next day sent is May 1; the newest closable week ends 2011-03-27.
    const hole: GateFacts = {
      predicted: '2011-05-01',
      pipelineIdle: true,
      reachableUntil: '2011-03-27',
      trainedUntil: '2011-03-27',
    };
    expect(gateVerdict('2011-04-25', '2011-05-01', hole)).toBe('go');
    expect(gateVerdict('2011-04-25', '2011-05-01', { ...hole, trainedUntil: '2011-03-20' })).toBe(
      'wait-training',
    );
  });

  it('goes on before any week is closed, and waits for the first run once one is', () => {
    const fresh: GateFacts = {
      predicted: '2007-11-05',
      pipelineIdle: true,
      reachableUntil: null,
      trainedUntil: null,
    };
    expect(gateVerdict('2007-10-30', '2007-11-05', fresh)).toBe('go');
    expect(
      gateVerdict('2007-11-06', '2007-11-12', {
        ...fresh,
        predicted: '2007-11-12',
        reachableUntil: '2007-11-11',
      }),
    ).toBe('wait-training');
  });
});

describe('canNeedWait (lead 7 days, grace 2)', () => {
  it('asks the store once a week: only once the run a day needs can have been started', () => {
    // Week of Monday 2010-01-04. Day 2010-01-10 needs the run of boundary 2010-01-04 (data to 01-03),
    // which the trainer starts on a label dated 01-06, there once 01-07 was sent.
    expect(canNeedWait('2010-01-10', '2010-01-09', 7, 2)).toBe(true);
    expect(canNeedWait('2010-01-07', '2010-01-06', 7, 2)).toBe(false);
    // 2010-01-11 .. 2010-01-14 need the run of 2010-01-11, not startable before 01-14 was sent.
    for (const d of ['2010-01-11', '2010-01-12', '2010-01-13', '2010-01-14'])
      expect(canNeedWait(d, addDays(d, -1), 7, 2)).toBe(false);
    expect(canNeedWait('2010-01-15', '2010-01-14', 7, 2)).toBe(true);
    // After a hole in the replay (nothing sent for weeks), the first day can need a run again.
    expect(canNeedWait('2011-05-01', '2011-03-31', 7, 2)).toBe(false);
  });
});
