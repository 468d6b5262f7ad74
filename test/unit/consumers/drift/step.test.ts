/**
 * The drift topology driven by hand, as Kafka Streams' TopologyTestDriver drives a topology: records go
 * into (source, partition), closed weeks come out, states can be read. Event time is the records' dates.
 */
import { describe, expect, it } from 'vitest';
import {
  closableWeeks,
  closeWeek,
  DEFAULT_DRIFT_SETTINGS,
  initialCloserState,
  parseCloserState,
  receivePartial,
  serializeCloserState,
  type DriftPartial,
  type DriftSettings,
  type DriftTask,
  type WeekOutput,
} from '../../../../consumers/drift/step.ts';
import { DriftTopology } from '../../../../consumers/drift/topology.ts';
import type { LabeledExample, Prediction } from '../../../../lib/domain/events.ts';
import {
  liveStream,
  MODEL,
  partitionOf,
  referenceOf,
  type DayFault,
  type LiveOptions,
} from '../../../support/drift-fixtures.ts';

/** Feeds a stream day by day, each partition its own records, both sources; returns every closed week. */
function drive(
  stream: { predictions: Prediction[]; labeled: LabeledExample[] },
  settings: DriftSettings = DEFAULT_DRIFT_SETTINGS,
  topology = new DriftTopology(referenceOf, settings, 2),
): { outputs: WeekOutput[]; topology: DriftTopology } {
  const outputs: WeekOutput[] = [];
  const dates = [...new Set(stream.predictions.map((p) => p.date))].sort();
  for (const date of dates) {
    for (const partition of [0, 1]) {
      const mine = <T extends { date: string; location: string }>(list: T[]) =>
        list.filter((e) => e.date === date && partitionOf(e.location) === partition);
      outputs.push(...topology.pipe('predictions', partition, mine(stream.predictions)));
      outputs.push(...topology.pipe('labeled', partition, mine(stream.labeled)));
    }
  }
  return { outputs, topology };
}

const opened = (outputs: WeekOutput[]) =>
  outputs.flatMap((o) =>
    o.alerts.filter((a) => a.event === 'opened').map((a) => `${a.kind}:${a.station}:${a.name}@${a.week}`),
  );

const FROM = '2013-01-07';
const live = (o: Partial<LiveOptions> = {}) => liveStream({ from: FROM, days: 70, ...o });

const pressureOffset = (station: string, from: string, until = '9999-12-31'): DayFault => ({
  station,
  from,
  apply: (v, date) => (date < until ? { ...v, pressure: v.pressure + 8 } : v),
});

describe('the week closer', () => {
  const partial = (partition: number, week: string): DriftPartial => ({
    task: 'rain',
    source: 'predictions',
    partition,
    week,
    watermark: week,
    stations: [],
    late: 0,
    duplicates: 0,
  });

  it('closes a week only once every partition has closed it', () => {
    let state = initialCloserState();
    for (const p of [partial(0, '2013-01-07'), partial(0, '2013-01-14'), partial(1, '2013-01-07')]) {
      state = receivePartial(state, p).state;
    }
    expect(closableWeeks(state, 'predictions', [0, 1])).toEqual(['2013-01-07']);
    expect(closableWeeks(state, 'predictions', [0, 1, 2])).toEqual([]);
    state = closeWeek(state, 'predictions', '2013-01-07', [], referenceOf).state;
    expect(closableWeeks(state, 'predictions', [0, 1])).toEqual([]);
    // A partial of a week already closed is late (a re-emission after a crash): not pending again.
    const again = receivePartial(state, partial(1, '2013-01-07'));
    expect(again.accepted).toBe(false);
    expect(() => closeWeek(state, 'predictions', '2013-01-07', [], referenceOf)).toThrow(/closed twice/);
  });

  it('state survives its JSON form', () => {
    const { topology } = drive(live({ days: 30 }));
    const state = topology.closerState();
    expect(parseCloserState(serializeCloserState(state))).toEqual(state);
  });
});

describe('drift topology', () => {
  const clean = drive(live());

  it('closes every week of both sides and opens no incident on a clean network', () => {
    const predictionWeeks = clean.outputs.filter((o) => o.side === 'predictions').map((o) => o.week);
    const labelWeeks = clean.outputs.filter((o) => o.side === 'labeled').map((o) => o.week);
    // 70 days = 10 weeks; the last one is still open (its Sunday + 2 days is not reached).
    expect(predictionWeeks).toHaveLength(9);
    expect(labelWeeks).toEqual(predictionWeeks);
    expect(opened(clean.outputs)).toEqual([]);
  });

  it('writes per-station rows for each watched field and the performance estimate beside the realized one', () => {
    const week = clean.outputs.find((o) => o.side === 'predictions' && o.week === '2013-01-21')!;
    // Four fields and the pressure instrument per station.
    expect(week.stations).toHaveLength(6 * 5);
    const albury = week.stations.find((r) => r.station === 'Albury' && r.feature === 'pressure3pm')!;
    expect(albury).toMatchObject({ modelVersion: MODEL, rows: 7, valued: 7, missingShare: 0 });
    expect(albury.residualZ).not.toBeNull();
    expect(albury.residualZ2).not.toBeNull();
    const estimated = week.performance.find((r) => r.station === '*')!;
    expect(estimated).toMatchObject({ basis: 'estimated', n: 42 });
    const labels = clean.outputs.find((o) => o.side === 'labeled' && o.week === '2013-01-21')!;
    const realized = labels.performance.find((r) => r.station === '*')!;
    expect(realized).toMatchObject({ basis: 'realized', n: 42 });
    expect(labels.calibration).toHaveLength(10);
    expect(realized.ece).not.toBeNull();
  });

  it('estimates accuracy before the labels close to what they then realize (the labels follow p)', () => {
    let estimated = 0;
    let realized = 0;
    let n = 0;
    for (const o of clean.outputs) {
      for (const r of o.performance) {
        if (r.station !== '*') continue;
        if (r.basis === 'estimated') estimated += r.accuracy! * r.n;
        else realized += r.accuracy! * r.n;
        if (r.basis === 'realized') n += r.n;
      }
    }
    expect(Math.abs(estimated / n - realized / n)).toBeLessThan(0.04);
  });

  it('opens one shift incident of the barometer at the station whose pressure moved, only there, and resolves it', () => {
    const run = drive(live({ days: 84, faults: [pressureOffset('Canberra', '2013-01-28', '2013-02-25')] }));
    expect(opened(run.outputs)).toEqual(['shift:Canberra:pressure@2013-01-28']);
    const resolved = run.outputs.flatMap((o) => o.alerts.filter((a) => a.event === 'resolved'));
    expect(resolved.map((a) => `${a.incidentId}@${a.week}`)).toEqual([
      'shift:Canberra:pressure:2013-01-28@2013-03-11',
    ]);
    const incidentRows = run.outputs.flatMap((o) => o.incidents).filter((i) => i.station === 'Canberra');
    expect(incidentRows.at(-1)).toMatchObject({ status: 'resolved', weeksBreached: 5 });
  });

  it('a field that stops reporting is a "missing" incident of that field, after two weeks, not a shift', () => {
    const silent: DayFault = {
      station: 'Dartmoor',
      from: '2013-01-21',
      apply: (v) => ({ ...v, humidity: NaN }),
    };
    const run = drive(live({ faults: [silent] }));
    expect(opened(run.outputs)).toEqual(['missing:Dartmoor:humidity3pm@2013-01-28']);
  });

  it('a barometer that stops reporting is one incident of the instrument, not one per reading', () => {
    const silent: DayFault = {
      station: 'Bendigo',
      from: '2013-01-21',
      apply: (v) => ({ ...v, pressure: NaN }),
    };
    const run = drive(live({ faults: [silent] }));
    expect(opened(run.outputs)).toEqual(['missing:Bendigo:pressure@2013-01-28']);
  });

  it('a station that stops reporting every field is one incident of the station', () => {
    const dark: DayFault = {
      station: 'Hobart',
      from: '2013-01-21',
      apply: () => ({ pressure: NaN, morning: 0, humidity: NaN, gust: NaN }),
    };
    const run = drive(live({ faults: [dark] }));
    expect(opened(run.outputs)).toEqual(['missing:Hobart:*@2013-01-28']);
  });

  it('a shift of every station is invisible to the neighbours and caught pooled', () => {
    const everywhere = ['Albury', 'Bendigo', 'Canberra', 'Dartmoor', 'Hobart', 'Moree'].map((s) =>
      pressureOffset(s, '2013-01-28'),
    );
    const run = drive(
      live({
        faults: everywhere.map((f) => ({ ...f, apply: (v) => ({ ...v, pressure: v.pressure + 30 }) })),
      }),
    );
    expect(opened(run.outputs)).toEqual(['shift:*:pressure3pm@2013-01-28']);
  });

  it('a sensor repeating one value is a "stuck" incident', () => {
    const stuck: DayFault = {
      station: 'Moree',
      from: '2013-01-21',
      apply: (v) => ({ ...v, pressure: 1013.2 }),
    };
    const run = drive(live({ faults: [stuck] }));
    expect(opened(run.outputs)).toContain('stuck:Moree:pressure3pm@2013-01-21');
    expect(opened(run.outputs).every((id) => id.includes(':Moree:'))).toBe(true);
  });

  it('gives the same outputs whatever the batching, with records re-delivered and a restart mid-week', () => {
    const stream = live({ faults: [pressureOffset('Canberra', '2013-01-28')] });
    const reference = drive(stream).outputs;
    // Another run: partitions fed in bursts of 17 records, every burst delivered twice (a consumer that
    // crashed before committing), and halfway the whole topology restarted from its saved states.
    const topology = new DriftTopology(referenceOf, DEFAULT_DRIFT_SETTINGS, 2);
    const outputs: WeekOutput[] = [];
    const feed = (source: 'predictions' | 'labeled', list: (Prediction | LabeledExample)[]) => {
      for (const partition of [0, 1]) {
        const mine = list.filter((e) => partitionOf(e.location) === partition);
        for (let i = 0; i < mine.length; i += 17) {
          const burst = mine.slice(i, i + 17);
          outputs.push(...topology.pipe(source, partition, burst));
          outputs.push(...topology.pipe(source, partition, burst));
        }
      }
    };
    const half = '2013-02-06';
    feed(
      'predictions',
      stream.predictions.filter((p) => p.date < half),
    );
    feed(
      'labeled',
      stream.labeled.filter((p) => p.date < half),
    );
    feed(
      'predictions',
      stream.predictions.filter((p) => p.date >= half),
    );
    feed(
      'labeled',
      stream.labeled.filter((p) => p.date >= half),
    );
    const key = (o: WeekOutput) => `${o.side}|${o.week}`;
    const strip = (list: WeekOutput[]) =>
      list.map((o) => ({ ...o, late: 0, duplicates: 0 })).sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(strip(outputs)).toEqual(strip(reference));
    expect(topology.duplicates).toBeGreaterThan(0);
  });

  it('asks for a retraining when an incident opens on an important feature, once per cooldown', () => {
    const settings: DriftSettings = {
      ...DEFAULT_DRIFT_SETTINGS,
      retrain: { enabled: true, maxRank: 2, stationLevel: true, cooldownWeeks: 4 },
    };
    const run = drive(
      live({ faults: [pressureOffset('Canberra', '2013-01-28'), pressureOffset('Albury', '2013-02-04')] }),
      settings,
    );
    const requests = run.outputs.flatMap((o) => o.retrain);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      kind: 'retrain',
      requestedBy: 'drift',
      week: '2013-01-28',
      station: 'Canberra',
      feature: 'pressure',
      incidentId: 'shift:Canberra:pressure:2013-01-28',
    });
    expect(requests[0]!.reason).toMatch(/^drift: shift of pressure at Canberra since 2013-01-28/);
    // Off by default: the same faults ask for nothing.
    expect(
      drive(live({ faults: [pressureOffset('Canberra', '2013-01-28')] })).outputs.flatMap((o) => o.retrain),
    ).toEqual([]);
  });

  it('keys a week served by two models by each version; station statistics follow the primary one', () => {
    const first = live({ days: 17 });
    const second = liveStream({ from: '2013-01-24', days: 20, modelVersion: 'gbdt-next' });
    const mixed = {
      predictions: [...first.predictions, ...second.predictions],
      labeled: [...first.labeled, ...second.labeled],
    };
    const run = drive(
      mixed,
      DEFAULT_DRIFT_SETTINGS,
      new DriftTopology((v) => referenceOf(v === 'gbdt-next' ? MODEL : v), DEFAULT_DRIFT_SETTINGS, 2),
    );
    const week = run.outputs.find((o) => o.side === 'predictions' && o.week === '2013-01-21')!;
    const pooled = week.performance.filter((r) => r.station === '*');
    expect(pooled.map((r) => [r.modelVersion, r.n])).toEqual([
      ['gbdt-next', 24],
      [MODEL, 18],
    ]);
    expect(new Set(week.stations.map((r) => r.modelVersion))).toEqual(new Set(['gbdt-next']));
    // Every station still judged on all seven days: both versions' sums are combined.
    expect(week.stations.every((r) => r.rows === 7)).toBe(true);
  });
});

describe('drift of a regression task (max_temp)', () => {
  const MAX_TEMP: DriftTask = { name: 'max_temp', type: 'regression' };
  // Six stations give 168 labeled rows in a 4-week window: judged from 100 rows here (200 in production).
  const judged: DriftSettings = {
    ...DEFAULT_DRIFT_SETTINGS,
    performance: { ...DEFAULT_DRIFT_SETTINGS.performance, minRows: 100 },
  };
  const driveMaxTemp = (o: Partial<LiveOptions> = {}, settings = judged) =>
    drive(live({ task: 'max_temp', ...o }), settings, new DriftTopology(referenceOf, settings, 2, MAX_TEMP));

  it("watches the features against its champion's reference, its incidents and alerts named by the task", () => {
    const run = driveMaxTemp({
      days: 84,
      faults: [pressureOffset('Canberra', '2013-01-28', '2013-02-25')],
    });
    expect(opened(run.outputs)).toEqual(['shift:Canberra:pressure@2013-01-28']);
    const alerts = run.outputs.flatMap((o) => o.alerts);
    expect(alerts.map((a) => [a.task, a.incidentId, a.event])).toEqual([
      ['max_temp', 'max_temp:shift:Canberra:pressure:2013-01-28', 'opened'],
      ['max_temp', 'max_temp:shift:Canberra:pressure:2013-01-28', 'resolved'],
    ]);
    expect(run.outputs.every((o) => o.task === 'max_temp')).toBe(true);
    expect(run.outputs.flatMap((o) => o.stations).some((r) => r.station === 'Canberra')).toBe(true);
  });

  it('has no estimate and no probability PSI; realizes RMSE and MAE per week beside its reference RMSE', () => {
    const run = driveMaxTemp();
    const performance = run.outputs.flatMap((o) => o.performance);
    expect(performance.length).toBeGreaterThan(0);
    expect(performance.every((r) => r.basis === 'realized' && r.accuracy === null)).toBe(true);
    const pooled = performance.filter((r) => r.station === '*');
    // The forecasts err by N(0, 2 °C): RMSE near 2, MAE near 2·sqrt(2/π) = 1.6.
    for (const r of pooled) {
      expect(r.rmse!).toBeGreaterThan(1.6);
      expect(r.rmse!).toBeLessThan(2.5);
      expect(r.mae!).toBeLessThan(r.rmse!);
      expect(r.referenceRmse!).toBeCloseTo(2, 0);
    }
    const drift = run.outputs.flatMap((o) => o.drift);
    expect(drift.some((d) => d.kind === 'prediction')).toBe(false);
    const ratios = drift.filter((d) => d.kind === 'performance');
    expect(ratios.length).toBeGreaterThan(0);
    expect(ratios.every((d) => !d.alert)).toBe(true);
    expect(opened(run.outputs)).toEqual([]);
  });

  it('opens a performance incident when the forecasts err far more than the reference did', () => {
    const run = driveMaxTemp({ errorSd: (date) => (date >= '2013-02-04' ? 4 : 2) });
    expect(opened(run.outputs)).toEqual(['performance:*:rmse@2013-02-04']);
    const retrainless = run.outputs.flatMap((o) => o.retrain);
    expect(retrainless).toEqual([]);
  });

  it('asks for a refit of max_temp, not rain, when retraining on drift is on', () => {
    const settings: DriftSettings = {
      ...judged,
      retrain: { ...DEFAULT_DRIFT_SETTINGS.retrain, enabled: true },
    };
    const run = driveMaxTemp({ errorSd: (date) => (date >= '2013-02-04' ? 4 : 2) }, settings);
    const requests = run.outputs.flatMap((o) => o.retrain);
    expect(requests.map((r) => [r.task, r.id])).toEqual([
      ['max_temp', 'drift:max_temp:performance:*:rmse:2013-02-04'],
    ]);
  });

  it("a rain topology's ids and commands are as before tasks", () => {
    const run = drive(live({ days: 84, faults: [pressureOffset('Canberra', '2013-01-28', '2013-02-25')] }));
    expect(run.outputs.flatMap((o) => o.alerts).map((a) => [a.task, a.incidentId])[0]).toEqual([
      'rain',
      'shift:Canberra:pressure:2013-01-28',
    ]);
  });
});
