import { describe, expect, it } from 'vitest';
import {
  JoinStateError,
  labelBatchStep,
  labelStep,
  parseJoinState,
  partitionWatermark,
  readJoinState,
  serializeJoinState,
  stateIdOf,
  sweepExpired,
  type JoinState,
} from '../../../../consumers/labeler/step.ts';
import type { Prediction } from '../../../../lib/domain/events.ts';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import { testRules } from '../../../support/rules.ts';

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
    task: 'rain',
    value: null,
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
        task: 'rain',
        target: null,
        value: null,
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
        task: 'rain',
        actualValue: null,
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
        task: 'rain',
        actualValue: null,
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
        task: 'rain',
        actualValue: null,
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

describe('labelBatchStep: the join and the sweep over a partition', () => {
  const joinBatch = (
    events: Prediction[],
    states: Map<string, JoinState | null>,
    known: Map<string, JoinState>,
    graceDays: number,
    rules: ReturnType<typeof testRules>,
  ) =>
    labelBatchStep(
      events.map((event) => ({ event })),
      states,
      known,
      graceDays,
      rules,
    );

  const rules = testRules();
  const at = (location: string, date: string, rainToday: boolean | null = false) =>
    prediction(date, rainToday, { location });

  it('joins, then times out the pending day of a station the partition has left behind', () => {
    const states = new Map<string, JoinState | null>();
    const known = new Map<string, JoinState>();
    const first = joinBatch(
      [at('Albury', '2017-01-01'), at('Cobar', '2017-01-01'), at('Albury', '2017-01-02')],
      states,
      known,
      1,
      rules,
    );
    expect(first.labeled.map((l) => `${l.location} ${l.date}`)).toEqual(['Albury 2017-01-01']);
    expect(first.watermark).toBe('2017-01-01');
    const later = joinBatch(
      [at('Albury', '2017-01-05'), at('Darwin', '2017-01-05')],
      states,
      known,
      1,
      rules,
    );
    expect(later.watermark).toBe('2017-01-05');
    expect(later.actuals.map((a) => `${a.location} ${a.date} ${a.reason}`).sort()).toEqual([
      'Albury 2017-01-02 gap',
      'Cobar 2017-01-01 timeout',
    ]);
  });

  it('rejects a far-future or impossible prediction before it touches the join or the partition time', () => {
    const states = new Map<string, JoinState | null>();
    const known = new Map<string, JoinState>();
    joinBatch([at('Albury', '2017-01-01'), at('Cobar', '2017-01-01')], states, known, 1, rules);
    const result = joinBatch(
      [
        at('Darwin', '2099-01-01'),
        at('Darwin', '9999-12-31'),
        at('sydney', '2017-01-02'),
        { ...at('Albury', '2017-01-02'), probability: 1.5 },
        { ...at('Albury', '2017-01-02'), rainToday: false, rainfall: 80 },
      ],
      states,
      known,
      1,
      rules,
    );
    expect(result.rejected.map((r) => [r.at, r.field])).toEqual([
      [0, 'date'],
      [1, 'date'],
      [2, 'location'],
      [3, 'probability'],
      [4, 'rainToday'],
    ]);
    expect(result.outcomes.invalid).toBe(5);
    expect(result.actuals).toEqual([]);
    expect(result.watermark).toBe('2017-01-01');
    expect([...known.keys()].sort()).toEqual(['Albury', 'Cobar']);
  });

  it('lets no single station, even one valid day far ahead, time out the others', () => {
    const states = new Map<string, JoinState | null>();
    const known = new Map<string, JoinState>();
    joinBatch([at('Albury', '2017-01-01'), at('Cobar', '2017-01-01')], states, known, 1, rules);
    const jump = joinBatch([at('Darwin', '2026-11-30')], states, known, 1, rules);
    expect(jump.watermark).toBe('2017-01-01');
    expect(jump.actuals).toEqual([]);
    const next = joinBatch([at('Albury', '2017-01-02', true)], states, known, 1, rules);
    expect(next.labeled.map((l) => l.date)).toEqual(['2017-01-01']);
  });

  it('rejects a prediction keyed by another station than its own', () => {
    const result = labelBatchStep(
      [
        { event: at('Albury', '2017-01-01'), key: 'Cobar' },
        { event: at('Albury', '2017-01-02'), key: null },
      ],
      new Map(),
      new Map(),
      1,
      rules,
    );
    expect(result.rejected.map((r) => [r.field, r.reason])).toEqual([
      ['key', 'key "Cobar" is not the record\'s station "Albury"'],
      ['key', 'the record has no key; it must be keyed by its station "Albury"'],
    ]);
  });

  it('counts a re-delivered prediction and skips it', () => {
    const states = new Map<string, JoinState | null>();
    const known = new Map<string, JoinState>();
    const batch = [at('Albury', '2017-01-01'), at('Albury', '2017-01-02')];
    joinBatch(batch, states, known, 1, rules);
    const again = joinBatch(batch, states, known, 1, rules);
    expect(again.outcomes).toMatchObject({ late: 1, duplicate: 1 });
    expect(again.labeled).toEqual([]);
    expect(again.changed.size).toBe(0);
  });

  it('sweeps by day numbers: no date arithmetic can throw, whatever a state holds', () => {
    const { state } = run([prediction('2105-12-31', true)]);
    expect(sweepExpired(state, '2105-12-31', 3)).toEqual({ actuals: [], state });
    expect(partitionWatermark(new Map())).toBe('');
  });

  it('reads a damaged or foreign stored state as none', () => {
    const { state } = run([prediction('2017-01-01', true)]);
    expect(readJoinState(serializeJoinState(state), 'Albury')).toEqual(state);
    expect(readJoinState(serializeJoinState(state), 'Cobar')).toBeNull();
    expect(readJoinState('{"v":1,"location":"Albury","lastDate":"9999-99-99","pending":null}')).toBeNull();
    expect(readJoinState('not json')).toBeNull();
  });
});

describe("the max_temp task: labeled with the next day's MaxTemp", () => {
  const MAX = FEATURE_NAMES.indexOf('maxTemp');
  const temp = (date: string, maxTemp: number, forecast: number, extra: Partial<Prediction> = {}) =>
    prediction(date, false, {
      task: 'max_temp',
      probability: 0,
      decision: false,
      threshold: 0,
      value: forecast,
      values: FEATURE_NAMES.map((n, i) => (i === MAX ? maxTemp : 0)),
      ...extra,
    });

  it("joins D with D+1's MaxTemp as the target and keeps D's forecast beside it", () => {
    const { labeled, actuals, state } = run([temp('2017-01-01', 25, 24.5), temp('2017-01-02', 28.5, 27)]);
    expect(labeled).toHaveLength(1);
    expect(labeled[0]).toMatchObject({
      task: 'max_temp',
      date: '2017-01-01',
      label: false,
      target: 28.5,
      value: 24.5,
    });
    expect(actuals).toEqual([
      expect.objectContaining({ task: 'max_temp', status: 'joined', actualValue: 28.5, date: '2017-01-01' }),
    ]);
    expect(state.task).toBe('max_temp');
  });

  it('records D missing when D+1 has no MaxTemp, whatever its rain', () => {
    const { labeled, actuals } = run([temp('2017-01-01', 25, 24.5), temp('2017-01-02', NaN, 27)]);
    expect(labeled).toEqual([]);
    expect(actuals[0]).toMatchObject({ task: 'max_temp', status: 'missing', reason: 'label-unknown' });
  });

  it("keeps rain's and max_temp's joins of a station apart in one batch", () => {
    const states = new Map<string, JoinState | null>();
    const known = new Map<string, JoinState>();
    const events = [
      prediction('2017-01-01', false),
      temp('2017-01-01', 25, 24),
      prediction('2017-01-02', true),
      temp('2017-01-02', 27, 26),
    ].map((event) => ({ event }));
    const result = labelBatchStep(events, states, known, 3, testRules());
    expect(result.labeled.map((e) => [e.task, e.date, e.label, e.target])).toEqual([
      ['rain', '2017-01-01', true, null],
      ['max_temp', '2017-01-01', false, 27],
    ]);
    expect([...result.changed.keys()].sort()).toEqual(['Albury', stateIdOf('max_temp', 'Albury')]);
    const stored = serializeJoinState(result.changed.get('max_temp|Albury')!);
    expect(readJoinState(stored, 'max_temp|Albury')?.task).toBe('max_temp');
    // A stored state is read only under its own join's id.
    expect(readJoinState(stored, 'Albury')).toBeNull();
  });

  it('refuses a prediction of an unknown task, or a max_temp one without a value, naming the field', () => {
    const result = labelBatchStep(
      [{ event: prediction('2017-01-01', false, { task: 'wind' }) }, { event: temp('2017-01-01', 25, NaN) }],
      new Map(),
      new Map(),
      3,
      testRules(),
    );
    expect(result.rejected.map((r) => r.field)).toEqual(['task', 'value']);
  });
});
