import { describe, expect, it } from 'vitest';
import {
  JoinStateError,
  labelStep,
  parseJoinState,
  serializeJoinState,
  sweepExpired,
  type JoinState,
} from '../../../../consumers/labeler/step.ts';
import type { Prediction } from '../../../../lib/domain/events.ts';

function prediction(date: string, rainToday: boolean | null, extra: Partial<Prediction> = {}): Prediction {
  return {
    location: 'Albury',
    date,
    probability: 0.3,
    decision: false,
    threshold: 0.5,
    modelVersion: `m-${date}`,
    featureSetVersion: 'fs1',
    values: [Number(date.slice(8)), NaN],
    rainToday,
    rainfall: rainToday === null ? null : rainToday ? 6.4 : 0,
    ingestedAt: 0,
    predictedAt: 0,
    ...extra,
  };
}

function run(predictions: Prediction[], state: JoinState | null = null) {
  const labeled = [];
  const actuals = [];
  const outcomes = [];
  for (const p of predictions) {
    const r = labelStep(state, p);
    state = r.state;
    labeled.push(...r.labeled);
    actuals.push(...r.actuals);
    outcomes.push(r.outcome);
  }
  return { labeled, actuals, outcomes, state: state! };
}

describe('labelStep', () => {
  it('joins D with D+1: features, probability and model of D, label and rainfall of D+1', () => {
    const { labeled, actuals, outcomes, state } = run([
      prediction('2017-01-01', false, { probability: 0.8 }),
      prediction('2017-01-02', true),
    ]);
    expect(outcomes).toEqual(['pending', 'joined']);
    expect(labeled).toEqual([
      {
        location: 'Albury',
        date: '2017-01-01',
        featureSetVersion: 'fs1',
        values: [1, NaN],
        label: true,
        rainfallNext: 6.4,
        probability: 0.8,
        modelVersion: 'm-2017-01-01',
      },
    ]);
    expect(actuals).toEqual([
      {
        location: 'Albury',
        date: '2017-01-01',
        status: 'joined',
        reason: null,
        rainTomorrow: true,
        rainfallTomorrowMm: 6.4,
      },
    ]);
    expect(state.pending?.date).toBe('2017-01-02');
  });

  it('joins across a month and year change', () => {
    const { labeled } = run([prediction('2016-12-31', null), prediction('2017-01-01', false)]);
    expect(labeled.map((l) => [l.date, l.label])).toEqual([['2016-12-31', false]]);
  });

  it('records D missing when D+1 does not know whether it rained', () => {
    const { labeled, actuals } = run([
      prediction('2017-01-01', true),
      prediction('2017-01-02', null, { rainfall: 0.4 }),
    ]);
    expect(labeled).toEqual([]);
    expect(actuals).toEqual([
      {
        location: 'Albury',
        date: '2017-01-01',
        status: 'missing',
        reason: 'label-unknown',
        rainTomorrow: null,
        rainfallTomorrowMm: 0.4,
      },
    ]);
  });

  it('records D missing when the next prediction is more than a day later, and waits on the new one', () => {
    const { labeled, actuals, state } = run([
      prediction('2017-01-01', true),
      prediction('2017-01-04', true),
      prediction('2017-01-05', false),
    ]);
    expect(actuals.map((a) => [a.date, a.status, a.reason])).toEqual([
      ['2017-01-01', 'missing', 'gap'],
      ['2017-01-04', 'joined', null],
    ]);
    expect(labeled.map((l) => l.date)).toEqual(['2017-01-04']);
    expect(state.pending?.date).toBe('2017-01-05');
  });

  it('emits each label once: re-delivered and out-of-order predictions change nothing', () => {
    const first = run([prediction('2017-01-01', true), prediction('2017-01-02', true)]);
    for (const again of [prediction('2017-01-02', false), prediction('2017-01-01', true)]) {
      const r = labelStep(first.state, again);
      expect(r.labeled).toEqual([]);
      expect(r.actuals).toEqual([]);
      expect(r.state).toBe(first.state);
      expect(r.outcome).toBe(again.date === '2017-01-02' ? 'duplicate' : 'late');
    }
    // A duplicate of D while D is still pending does not join D with itself.
    const pending = run([prediction('2017-01-01', true), prediction('2017-01-01', false)]);
    expect(pending.labeled).toEqual([]);
    expect(pending.outcomes).toEqual(['pending', 'duplicate']);
  });

  it('joins every consecutive pair of a run with holes: labels = pairs whose next day exists and is known', () => {
    const dates = ['01', '02', '03', '05', '06', '07', '10', '11'].map((d) => `2017-01-${d}`);
    const known = [true, false, true, true, null, false, true, true];
    const { labeled, actuals } = run(dates.map((d, i) => prediction(d, known[i]!)));
    expect(labeled.map((l) => l.date)).toEqual(['2017-01-01', '2017-01-02', '2017-01-06', '2017-01-10']);
    expect(actuals).toHaveLength(dates.length - 1); // the last is still pending
    expect(actuals.filter((a) => a.status === 'missing').map((a) => a.reason)).toEqual([
      'gap',
      'label-unknown',
      'gap',
    ]);
  });

  it('refuses a prediction of another station than the state', () => {
    const { state } = run([prediction('2017-01-01', true)]);
    expect(() => labelStep(state, prediction('2017-01-02', true, { location: 'Cobar' }))).toThrow(
      JoinStateError,
    );
  });
});

describe('sweepExpired', () => {
  const { state } = run([prediction('2017-01-01', true)]);

  it('gives up on D once D+1+grace is before the watermark, and only then', () => {
    expect(sweepExpired(state, '2017-01-04', 3)).toEqual({ actuals: [], state }); // D+1+3 = Jan 5
    expect(sweepExpired(state, '2017-01-05', 3)).toEqual({ actuals: [], state });
    const swept = sweepExpired(state, '2017-01-06', 3);
    expect(swept.actuals).toEqual([
      {
        location: 'Albury',
        date: '2017-01-01',
        status: 'missing',
        reason: 'timeout',
        rainTomorrow: null,
        rainfallTomorrowMm: null,
      },
    ]);
    expect(swept.state).toMatchObject({ pending: null, lastDate: '2017-01-01' });
    expect(sweepExpired(swept.state, '2017-02-01', 3).actuals).toEqual([]);
  });

  it('never records a timed-out day twice, even if its label turns up afterwards', () => {
    const swept = sweepExpired(state, '2017-01-09', 1).state;
    const late = labelStep(swept, prediction('2017-01-02', true));
    expect(late.labeled).toEqual([]);
    expect(late.actuals).toEqual([]);
    expect(late.state.pending?.date).toBe('2017-01-02');
    expect(() => sweepExpired(state, '2017-01-09', -1)).toThrow(JoinStateError);
  });
});

describe('join state storage', () => {
  it('survives JSON with its NaN feature values intact', () => {
    const { state } = run([prediction('2017-01-01', true)]);
    const text = serializeJoinState(state);
    const back = parseJoinState(text);
    expect(back).toEqual(state);
    expect(back.pending!.values[1]).toBeNaN();
    expect(labelStep(back, prediction('2017-01-02', false))).toEqual(
      labelStep(state, prediction('2017-01-02', false)),
    );
    expect(() => parseJoinState('{"v":2}')).toThrow(JoinStateError);
  });
});
