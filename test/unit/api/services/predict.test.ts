import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, type StationState } from '../../../../lib/domain/features/index.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import type { Observation } from '../../../../lib/domain/events.ts';
import { historyBefore, historyDaysBefore, observationOf } from '../../../../api/services/predict.ts';
import { observation, rainDay } from '../../../support/observations.ts';
import { featuresStep } from '../../../../consumers/features/step.ts';

const DAYS_SINCE_RAIN = FEATURE_NAMES.indexOf('daysSinceRain');

/** Runs the stream's step over `observations`, returning the state after each and the emitted values. */
function stream(observations: Observation[]) {
  let state: StationState | null = null;
  const states: (StationState | null)[] = [];
  const values = new Map<string, number[]>();
  for (const obs of observations) {
    states.push(state);
    const step = featuresStep(state, obs, 0);
    if (step.output) values.set(obs.date, step.output.values);
    state = step.state;
  }
  return { state: state!, states, values };
}

function days(from: string, n: number, mm: (i: number) => number): Observation[] {
  return Array.from({ length: n }, (_, i) => rainDay(addDays(from, i), mm(i)));
}

describe('historyBefore', () => {
  it('returns the state itself when the date is after everything it holds', () => {
    const { state } = stream(days('2015-03-01', 10, (i) => i % 3));
    expect(historyBefore(state, '2015-03-11')).toBe(state);
    expect(historyBefore(null, '2015-03-11')).toBeNull();
  });

  it("re-posting the stream's last day gives the features the stream computed, when D-7 was a gap", () => {
    // 2015-03-01 .. 03-20 without 03-13, so D-7 of 03-20 is absent for the stream too.
    const obs = days('2015-03-01', 20, (i) => (i * 7) % 5).filter((o) => o.date !== '2015-03-13');
    const { state, values } = stream(obs);
    const last = obs[obs.length - 1]!;
    const again = featuresStep(historyBefore(state, last.date), last, 0);
    expect(again.outcome).toBe('emitted');
    expect(again.output!.values).toEqual(values.get(last.date));
  });

  it('an earlier day inside the window sees only the days before it', () => {
    const obs = days('2015-03-01', 12, (i) => (i === 2 ? 5 : 0));
    const { state } = stream(obs);
    const history = historyBefore(state, '2015-03-10')!;
    expect(history.days.map((d) => d.date)).toEqual(['2015-03-06', '2015-03-07', '2015-03-08', '2015-03-09']);
    expect(history.lastDate).toBe('2015-03-09');
    // The last rain (03-03) is before the date and was kept in lastRainDate.
    expect(history.lastRainDate).toBe('2015-03-03');
    const step = featuresStep(history, obs[9]!, 0);
    expect(step.output!.values[DAYS_SINCE_RAIN]).toBe(7);
  });

  it('says days-since-rain is unknown, not "dry for a month", when the only rain known is after the date', () => {
    // 40 dry days, then rain on the last day: the rain before 03-25 is not kept (there was none, but the
    // state cannot tell that apart from rain that slid out of its window).
    const obs = days('2015-02-20', 40, (i) => (i === 39 ? 8 : 0));
    const { state } = stream(obs);
    expect(state.lastRainDate).toBe(obs[39]!.date);
    const date = obs[37]!.date;
    const history = historyBefore(state, date)!;
    expect(history.lastRainDate).toBeNull();
    const step = featuresStep(history, observation({ date }), 0);
    expect(step.output!.values[DAYS_SINCE_RAIN]).toBeNaN();
  });

  it('returns null when nothing before the date is known', () => {
    const { state } = stream(days('2015-03-01', 5, () => 0));
    expect(historyBefore(state, '2015-03-01')).toBeNull();
    expect(historyBefore(state, '2014-12-31')).toBeNull();
  });

  it('keeps a known rain date when no kept day is before the date', () => {
    const obs = [rainDay('2015-01-01', 9), ...days('2015-01-02', 30, () => 0)];
    const { state } = stream(obs);
    // Kept days are 01-25 .. 01-31; ask for 01-20: no kept day before it, but the rain of 01-01 is known.
    const history = historyBefore(state, '2015-01-20')!;
    expect(history.days).toEqual([]);
    expect(history.lastRainDate).toBe('2015-01-01');
    expect(history.lastDate < '2015-01-20').toBe(true);
    const step = featuresStep(history, observation({ date: '2015-01-20' }), 0);
    expect(step.output!.values[DAYS_SINCE_RAIN]).toBe(19);
  });
});

describe('historyDaysBefore', () => {
  it('counts the observed days among the 7 before the date', () => {
    const obs = days('2015-03-01', 10, () => 0).filter((o) => o.date !== '2015-03-08');
    const { state } = stream(obs);
    expect(historyDaysBefore(state, '2015-03-11')).toBe(6);
    expect(historyDaysBefore(state, '2015-03-20')).toBe(0);
    expect(historyDaysBefore(null, '2015-03-11')).toBe(0);
  });
});

describe('observationOf', () => {
  it('fills absent readings with null and the source with api', () => {
    const obs = observationOf({ location: 'Sydney', date: '2017-06-01', humidity3pm: 55, windDir9am: 'NNE' });
    expect(obs.humidity3pm).toBe(55);
    expect(obs.windDir9am).toBe('NNE');
    expect(obs.pressure9am).toBeNull();
    expect(obs.rainToday).toBeNull();
    expect(obs.source).toBe('api');
    expect(Object.keys(obs).sort()).toEqual(Object.keys(observation({ date: '2017-06-01' })).sort());
  });
});
