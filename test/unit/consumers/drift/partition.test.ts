import { describe, expect, it } from 'vitest';
import {
  C,
  checkDriftEvent,
  initialPartitionState,
  L,
  P,
  parsePartitionState,
  partitionStep,
  serializePartitionState,
  R,
  RAIN_DRIFT_TASK,
  type PartitionContext,
} from '../../../../consumers/drift/partition.ts';
import { liveStream, referenceOf, syntheticReference } from '../../../support/drift-fixtures.ts';
import { testRules } from '../../../support/rules.ts';

const ctx = (source: 'predictions' | 'labeled' = 'predictions'): PartitionContext => ({
  task: RAIN_DRIFT_TASK,
  source,
  partition: 0,
  referenceOf,
  graceDays: 2,
});

// Monday 2013-01-07 .. Sunday 2013-01-27: three weeks of the six stations, in date order.
const { predictions, labeled } = liveStream({ from: '2013-01-07', days: 21 });

describe('partitionStep', () => {
  it('closes a week once the watermark reaches its Sunday plus the grace days, one partial per week', () => {
    // Through Tuesday of week 2: week 1 (Sunday the 13th) needs the 15th.
    const untilTuesday = predictions.filter((p) => p.date <= '2013-01-15');
    const first = partitionStep(
      initialPartitionState(),
      untilTuesday.filter((p) => p.date <= '2013-01-14'),
      ctx(),
    );
    expect(first.partials).toEqual([]);
    const second = partitionStep(
      first.state,
      untilTuesday.filter((p) => p.date === '2013-01-15'),
      ctx(),
    );
    expect(second.partials.map((p) => p.week)).toEqual(['2013-01-07']);
    const partial = second.partials[0]!;
    expect(partial.stations.map((s) => s.location)).toEqual([
      'Albury',
      'Bendigo',
      'Canberra',
      'Dartmoor',
      'Hobart',
      'Moree',
    ]);
    expect(partial.stations.every((s) => s.rows === 7)).toBe(true);
    expect(second.state.closedThrough).toBe('2013-01-07');
    expect(second.state.weeks.map((w) => w.week)).toEqual(['2013-01-14']);
  });

  it('sums what the week held: histogram, CBPE sums, months, and per column missing, present, sums', () => {
    const week = predictions.filter((p) => p.date <= '2013-01-13' && p.location === 'Albury');
    const late = predictions.filter((p) => p.date === '2013-01-16' && p.location === 'Albury');
    const { partials } = partitionStep(initialPartitionState(), [...week, ...late], ctx());
    const v = partials[0]!.stations[0]!.values;
    const reference = syntheticReference();
    expect(v).toHaveLength(P.COLUMNS + reference.columns.length * C.SIZE);
    let hist = 0;
    for (let b = 0; b < 10; b++) hist += v[P.HIST + b]!;
    expect(hist).toBe(7);
    expect(v[P.MONTHS + 0]).toBe(7);
    expect(v[P.SUM_P]).toBeCloseTo(
      week.reduce((s, p) => s + p.probability, 0),
      12,
    );
    const humidity = P.COLUMNS + reference.columns.findIndex((c) => c.name === 'humidity3pm') * C.SIZE;
    expect(v[humidity + C.VALUED]).toBe(7);
    expect(v[humidity + C.MISSING]).toBe(0);
    expect(v[humidity + C.PRESENT]).toBe(7);
    expect(v[humidity + C.MIN]).toBe(Math.min(...week.map((p) => p.values[9]!)));
  });

  it('gives the same partials whether the records come in one batch or one by one', () => {
    const whole = partitionStep(initialPartitionState(), predictions, ctx());
    let state = initialPartitionState();
    const partials = [];
    for (const p of predictions) {
      const r = partitionStep(state, [p], ctx());
      state = r.state;
      partials.push(...r.partials);
    }
    expect(partials).toEqual(whole.partials);
    expect(state).toEqual(whole.state);
  });

  it('drops a re-delivered (station, date) and a record of a closed week, and says so in the next partial', () => {
    const first = partitionStep(initialPartitionState(), predictions.slice(0, 60), ctx());
    const again = partitionStep(first.state, predictions.slice(0, 60), ctx());
    expect(again.duplicates + again.late).toBe(60);
    expect(again.counted).toBe(0);
    const rest = partitionStep(again.state, predictions.slice(60), ctx());
    const whole = partitionStep(initialPartitionState(), predictions, ctx());
    // Same sums as a clean run; the dropped records are reported with the first partial after them.
    expect([...first.partials, ...rest.partials].map((p) => p.stations)).toEqual(
      whole.partials.map((p) => p.stations),
    );
    expect(rest.partials[0]!.duplicates + rest.partials[0]!.late).toBe(60);
  });

  it('treats weeks before the first record as closed, and a record older than the closed week as late', () => {
    const r = partitionStep(
      initialPartitionState(),
      predictions.filter((p) => p.date >= '2013-01-14'),
      ctx(),
    );
    expect(r.state.closedThrough).toBe('2013-01-14');
    const late = partitionStep(
      r.state,
      predictions.filter((p) => p.date === '2013-01-08'),
      ctx(),
    );
    expect(late.late).toBe(6);
    expect(late.state.weeks.map((w) => w.week)).toEqual(r.state.weeks.map((w) => w.week));
  });

  it('emits an empty partial for a week the partition had no record of', () => {
    const gap = predictions.filter((p) => p.date <= '2013-01-13' || p.date >= '2013-01-21');
    const r = partitionStep(initialPartitionState(), gap, ctx());
    expect(r.partials.map((p) => [p.week, p.stations.length])).toEqual([
      ['2013-01-07', 6],
      ['2013-01-14', 0],
    ]);
  });

  it('does not change its input state', () => {
    const first = partitionStep(initialPartitionState(), predictions.slice(0, 40), ctx());
    const before = serializePartitionState(first.state);
    partitionStep(first.state, predictions.slice(40, 80), ctx());
    expect(serializePartitionState(first.state)).toBe(before);
  });

  it('counts labeled examples: realized and expected correctness, reliability bins', () => {
    const week = labeled.filter((e) => e.date <= '2013-01-13' && e.location === 'Bendigo');
    const next = labeled.filter((e) => e.date === '2013-01-16' && e.location === 'Bendigo');
    const { partials } = partitionStep(initialPartitionState(), [...week, ...next], ctx('labeled'));
    const v = partials[0]!.stations[0]!.values;
    expect(v).toHaveLength(L.SIZE);
    expect(v[L.N]).toBe(7);
    expect(v[L.POSITIVES]).toBe(week.filter((e) => e.label).length);
    expect(v[L.CORRECT]).toBe(week.filter((e) => e.probability >= 0.5 === e.label).length);
    let binned = 0;
    for (let b = 0; b < 10; b++) binned += v[L.CALIBRATION + 3 * b]!;
    expect(binned).toBe(7);
  });

  it('keeps performance only for a model without a drift reference', () => {
    const other = liveStream({ from: '2013-01-07', days: 10, modelVersion: 'prior-climatology' }).predictions;
    const r = partitionStep(initialPartitionState(), other, ctx());
    expect(r.noReference).toBe(other.length);
    expect(r.partials[0]!.stations[0]!.values).toHaveLength(P.COLUMNS);
  });

  it('state survives its JSON form and a foreign one is refused', () => {
    const r = partitionStep(initialPartitionState(), predictions.slice(0, 50), ctx());
    expect(parsePartitionState(serializePartitionState(r.state))).toEqual(r.state);
    expect(() => parsePartitionState('{"v":1,"windows":[]}')).toThrow(/v2 PartitionState/);
  });
});

describe('checkDriftEvent', () => {
  const rules = testRules();
  const [prediction] = predictions;
  const [example] = labeled;

  it('admits the events the stages write', () => {
    expect(checkDriftEvent(prediction!, rules)).toBeNull();
    expect(checkDriftEvent(example!, rules)).toBeNull();
  });

  it('refuses a date that would move the watermark past every week up to it, or is no date', () => {
    for (const date of ['9999-12-31', '2099-01-01', '1900-01-01', 'yesterday']) {
      expect(checkDriftEvent({ ...example!, date }, rules)?.field).toBe('date');
      expect(checkDriftEvent({ ...prediction!, date }, rules)?.field).toBe('date');
    }
  });

  it('refuses a station this deployment does not have', () => {
    expect(checkDriftEvent({ ...prediction!, location: 'Atlantis' }, rules)?.field).toBe('location');
  });
});

describe('partitionStep of a regression task', () => {
  const maxTemp = (source: 'predictions' | 'labeled'): PartitionContext => ({
    task: { name: 'max_temp', type: 'regression' },
    source,
    partition: 0,
    referenceOf,
    graceDays: 2,
  });
  const stream = liveStream({ from: '2013-01-07', days: 10, task: 'max_temp' });

  it("sums a labeled week's errors (forecast - target): rows, bias, squares and magnitudes", () => {
    const week = stream.labeled.filter((e) => e.date <= '2013-01-13');
    const { partials } = partitionStep(initialPartitionState(), stream.labeled, maxTemp('labeled'));
    expect(partials.map((p) => [p.task, p.week])).toEqual([['max_temp', '2013-01-07']]);
    const albury = partials[0]!.stations.find((s) => s.location === 'Albury')!;
    const errors = week.filter((e) => e.location === 'Albury').map((e) => e.value! - e.target!);
    expect(albury.values).toHaveLength(R.SIZE);
    expect(albury.values[R.N]).toBe(7);
    expect(albury.values[R.SUM_E]).toBeCloseTo(
      errors.reduce((s, e) => s + e, 0),
      9,
    );
    expect(albury.values[R.SUM_E2]).toBeCloseTo(
      errors.reduce((s, e) => s + e * e, 0),
      9,
    );
    expect(albury.values[R.SUM_AE]).toBeCloseTo(
      errors.reduce((s, e) => s + Math.abs(e), 0),
      9,
    );
  });

  it('sums the watched columns of a prediction week as for rain, and no probability or estimate', () => {
    const { partials } = partitionStep(initialPartitionState(), stream.predictions, maxTemp('predictions'));
    const v = partials[0]!.stations.find((s) => s.location === 'Albury')!.values;
    for (let b = 0; b < P.MONTHS; b++) expect(v[b]).toBe(0);
    expect(v[P.MONTHS]).toBe(7);
    expect(v[P.COLUMNS + C.VALUED]).toBe(7);
  });
});
