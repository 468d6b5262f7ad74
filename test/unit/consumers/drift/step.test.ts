import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DRIFT_THRESHOLDS,
  accumulateDrift,
  closeWeeks,
  initialDriftState,
  jsDistance,
  parseDriftState,
  psi,
  serializeDriftState,
  type DriftState,
} from '../../../../consumers/drift/step.ts';
import type { LabeledExample } from '../../../../lib/domain/events.ts';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import type { Dataset } from '../../../../lib/ml/model.ts';
import { buildReference, type DriftReference } from '../../../../lib/ml/reference.ts';
import { addDays } from '../../../../lib/domain/time.ts';

const HUMIDITY = FEATURE_NAMES.indexOf('humidity3pm');
const PRESSURE = FEATURE_NAMES.indexOf('pressure3pm');

/** Training: humidity uniform on 0..99, pressure uniform on 1000..1049. Validation: probabilities spread over
 *  [0, 1] with labels that make the model 80 % accurate at 0.5. */
function reference(): DriftReference {
  const n = 1000;
  const data = new Float64Array(2 * n);
  for (let r = 0; r < n; r++) {
    data[r] = r % 100;
    data[n + r] = 1000 + (r % 50);
  }
  const dataset: Dataset = { featureNames: ['humidity3pm', 'pressure3pm'], nRows: n, data };
  const probabilities = Array.from({ length: 100 }, (_, i) => (i + 0.5) / 100);
  const labels = probabilities.map((p, i) => (p >= 0.5 !== (i % 5 === 0) ? 1 : 0));
  return buildReference(dataset, probabilities, labels);
}

const REFERENCES = new Map([['m1', reference()]]);
const lookup = (version: string) => REFERENCES.get(version);

interface WeekOptions {
  humidity?: (i: number) => number;
  accurate?: boolean;
  modelVersion?: string;
  perDay?: number;
}

/** A week of examples starting on `monday`, drawn like the reference unless told otherwise. */
function week(monday: string, o: WeekOptions = {}): LabeledExample[] {
  const perDay = o.perDay ?? 100;
  const out: LabeledExample[] = [];
  for (let i = 0; i < 7 * perDay; i++) {
    const values = new Array<number>(FEATURE_NAMES.length).fill(NaN);
    values[HUMIDITY] = o.humidity ? o.humidity(i) : i % 100;
    values[PRESSURE] = 1000 + (i % 50);
    const probability = ((i % 100) + 0.5) / 100;
    const right = o.accurate === false ? i % 2 === 0 : i % 5 !== 0;
    out.push({
      location: 'Albury',
      date: addDays(monday, Math.floor(i / perDay)),
      featureSetVersion: 'fs1',
      values,
      label: probability >= 0.5 === right,
      rainfallNext: null,
      probability,
      modelVersion: o.modelVersion ?? 'm1',
    });
  }
  return out;
}

function rowsOf(state: DriftState, watermark: string) {
  return closeWeeks(state, watermark, lookup, DEFAULT_DRIFT_THRESHOLDS);
}

describe('psi and jsDistance', () => {
  it('are 0 for identical distributions and grow with a shift', () => {
    const expected = [0.1, 0.2, 0.3, 0.4];
    expect(psi(expected, [10, 20, 30, 40])).toBeCloseTo(0, 15);
    expect(jsDistance(expected, [10, 20, 30, 40])).toBeCloseTo(0, 7);
    expect(psi(expected, [40, 30, 20, 10])).toBeGreaterThan(0.2);
    expect(jsDistance([1, 0], [0, 5])).toBeCloseTo(1, 12);
    expect(psi(expected, [0, 0, 0, 0])).toBeNaN();
  });

  it('stay finite on empty bins: PSI through epsilon smoothing, JS by construction', () => {
    expect(Number.isFinite(psi([0.5, 0.5, 0], [0, 10, 10]))).toBe(true);
    expect(Number.isFinite(jsDistance([0.5, 0.5, 0], [0, 10, 10]))).toBe(true);
  });

  it('agree on the default thresholds for a bell-shaped feature: 0.4 sd shift passes, 0.5 sd alerts', () => {
    // Deciles of N(0, 1) observed from N(shift, 1): proportions from the normal CDF.
    const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
    const edges = [-1.2816, -0.8416, -0.5244, -0.2533, 0, 0.2533, 0.5244, 0.8416, 1.2816];
    const expected = new Array(10).fill(0.1);
    const observed = (shift: number) => {
      const cdf = [0, ...edges.map((e) => phi(e - shift)), 1];
      return cdf.slice(1).map((c, i) => (c - cdf[i]!) * 1e4);
    };
    expect(psi(expected, observed(0.4))).toBeLessThan(DEFAULT_DRIFT_THRESHOLDS.psi);
    expect(jsDistance(expected, observed(0.4))).toBeLessThan(DEFAULT_DRIFT_THRESHOLDS.js);
    expect(psi(expected, observed(0.5))).toBeGreaterThan(DEFAULT_DRIFT_THRESHOLDS.psi);
    expect(jsDistance(expected, observed(0.5))).toBeGreaterThan(DEFAULT_DRIFT_THRESHOLDS.js);
  });
});

/** Abramowitz-Stegun 7.1.26, |error| < 1.5e-7. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

describe('weekly drift', () => {
  it('finds no drift in a week drawn like the reference', () => {
    const acc = accumulateDrift(initialDriftState(), week('2017-01-02'), lookup);
    expect(acc).toMatchObject({ accumulated: 700, late: 0, noReference: 0 });
    const { rows, alerts } = rowsOf(acc.state, '2017-01-09');
    expect(alerts).toEqual([]);
    expect(rows).toHaveLength(2 * 2 + 2 + 2);
    for (const r of rows.filter((r) => r.kind !== 'performance'))
      expect(r.value, `${r.name} ${r.statistic}`).toBeCloseTo(0, 6);
    expect(rows.find((r) => r.statistic === 'accuracy_drop')!.value).toBeCloseTo(0, 12);
    expect(rows[0]).toMatchObject({
      week: '2017-01-02',
      modelVersion: 'm1',
      kind: 'feature',
      name: 'humidity3pm',
      n: 700,
    });
  });

  it('alerts on the shifted feature only, with PSI and JS, and on the performance drop', () => {
    const shifted = week('2017-01-02', { humidity: (i) => 50 + (i % 50), accurate: false });
    const { state } = accumulateDrift(initialDriftState(), shifted, lookup);
    const { alerts, rows } = rowsOf(state, '2017-01-09');
    expect(alerts.map((a) => `${a.kind}:${a.name}:${a.statistic}`).sort()).toEqual([
      'feature:humidity3pm:js',
      'feature:humidity3pm:psi',
      'performance:accuracy:accuracy_drop',
      'performance:brier:brier_increase',
    ]);
    const humidityPsi = rows.find((r) => r.name === 'humidity3pm' && r.statistic === 'psi')!;
    expect(humidityPsi).toMatchObject({ alert: true, threshold: 0.2 });
    expect(humidityPsi.value).toBeGreaterThan(1);
    expect(alerts[0]).toEqual({
      week: '2017-01-02',
      modelVersion: 'm1',
      kind: alerts[0]!.kind,
      name: alerts[0]!.name,
      statistic: alerts[0]!.statistic,
      value: alerts[0]!.value,
      threshold: alerts[0]!.threshold,
    });
  });

  it('does not alert on a week too small to be evidence, but still reports it', () => {
    const tiny = week('2017-01-02', { humidity: () => 99, perDay: 5 });
    const { rows, alerts } = rowsOf(accumulateDrift(initialDriftState(), tiny, lookup).state, '2017-01-09');
    expect(alerts).toEqual([]);
    expect(rows.find((r) => r.name === 'humidity3pm')!.value).toBeGreaterThan(1);
    expect(rows[0]!.n).toBe(35);
  });

  it('closes a week only when the watermark passes its Sunday, across a year change', () => {
    // Week of Monday 2016-12-26 ends on Sunday 2017-01-01.
    let state = accumulateDrift(
      initialDriftState(),
      [...week('2016-12-26'), ...week('2017-01-02')],
      lookup,
    ).state;
    expect(state.windows.map((w) => w.week).sort()).toEqual(['2016-12-26', '2017-01-02']);
    const onSunday = rowsOf(state, '2017-01-01');
    expect(onSunday.rows).toEqual([]);
    expect(onSunday.state.windows).toHaveLength(2);
    const onMonday = rowsOf(state, '2017-01-02');
    expect(new Set(onMonday.rows.map((r) => r.week))).toEqual(new Set(['2016-12-26']));
    state = onMonday.state;
    expect(state.closedBefore).toBe('2017-01-02');
    // A straggler of the closed week is late; one of the open week still counts.
    const late = accumulateDrift(state, week('2016-12-26', { perDay: 1 }).slice(6), lookup);
    expect(late).toMatchObject({ accumulated: 0, late: 1 });
    expect(accumulateDrift(state, week('2017-01-02', { perDay: 1 }).slice(0, 1), lookup).accumulated).toBe(1);
    // With a grace day, the week stays open on the Monday.
    expect(
      closeWeeks(
        accumulateDrift(initialDriftState(), week('2016-12-26'), lookup).state,
        '2017-01-02',
        lookup,
        DEFAULT_DRIFT_THRESHOLDS,
        1,
      ).rows,
    ).toEqual([]);
  });

  it('holds a week to the months it falls in: a warm January is not drift, a cold one is', () => {
    // Training: January 30 degrees, July 10 degrees, as many rows of each.
    const n = 2000;
    const data = new Float64Array(2 * n);
    for (let r = 0; r < n; r++) {
      data[r] = (r % 2 === 0 ? 30 : 10) + (Math.floor(r / 2) % 10) / 10;
      data[n + r] = r % 2 === 0 ? 1 : 7;
    }
    const seasonal = buildReference({ featureNames: ['temp3pm', 'month'], nRows: n, data }, [0.5], [1]);
    const refs = (v: string) => (v === 's' ? seasonal : undefined);
    const TEMP = FEATURE_NAMES.indexOf('temp3pm');
    const januaryWeek = (temp: number) =>
      week('2017-01-09', { modelVersion: 's' }).map((e, i) => {
        const values = [...e.values];
        values[TEMP] = temp + (i % 10) / 10;
        return { ...e, values };
      });
    const close = (examples: LabeledExample[]) =>
      closeWeeks(accumulateDrift(initialDriftState(), examples, refs).state, '2017-01-16', refs).rows.filter(
        (r) => r.kind === 'feature',
      );
    const warm = close(januaryWeek(30));
    expect(warm.map((r) => r.name)).toEqual(['temp3pm', 'temp3pm']); // month itself gets no rows
    expect(warm.every((r) => !r.alert && r.value < 0.01)).toBe(true);
    const cold = close(januaryWeek(10));
    expect(cold.every((r) => r.alert)).toBe(true);
    // Against all-year proportions (no month feature in the reference) the warm January would alert.
    const allYear = buildReference(
      { featureNames: ['temp3pm'], nRows: n, data: data.subarray(0, n) },
      [0.5],
      [1],
    );
    const yearRows = closeWeeks(
      accumulateDrift(initialDriftState(), januaryWeek(30), () => allYear).state,
      '2017-01-16',
      () => allYear,
    ).rows;
    expect(yearRows.find((r) => r.name === 'temp3pm' && r.statistic === 'psi')!.alert).toBe(true);
  });

  it('keeps model versions apart and skips examples whose model has no reference', () => {
    const mixed = [
      ...week('2017-01-02', { perDay: 10 }),
      ...week('2017-01-02', { perDay: 10, modelVersion: 'gone' }),
    ];
    const acc = accumulateDrift(initialDriftState(), mixed, lookup);
    expect(acc).toMatchObject({ accumulated: 70, noReference: 70 });
    const unknownSet = week('2017-01-02', { perDay: 1 }).map((e) => ({ ...e, featureSetVersion: 'fs0' }));
    expect(accumulateDrift(initialDriftState(), unknownSet, lookup).noReference).toBe(7);
  });

  it('never mutates its input state, and survives a store as JSON', () => {
    const first = accumulateDrift(initialDriftState(), week('2017-01-02', { perDay: 10 }), lookup).state;
    const before = serializeDriftState(first);
    const second = accumulateDrift(first, week('2017-01-02', { perDay: 10 }), lookup).state;
    expect(serializeDriftState(first)).toBe(before);
    expect(second.windows[0]!.n).toBe(140);
    const restored = parseDriftState(serializeDriftState(second));
    expect(restored.windows[0]!.featureCounts).toBeInstanceOf(Float64Array);
    expect(rowsOf(restored, '2017-01-09')).toEqual(rowsOf(second, '2017-01-09'));
    expect(() => parseDriftState('{"v":1,"closedBefore":null,"windows":[{"week":"x"}]}')).toThrow(
      /DriftState/,
    );
    // State stored before months were counted falls back to the all-year proportions.
    const legacy = JSON.parse(serializeDriftState(second));
    for (const w of legacy.windows) delete w.monthCounts;
    const legacyRows = rowsOf(parseDriftState(JSON.stringify(legacy)), '2017-01-09').rows;
    expect(legacyRows.map((r) => r.value)).toEqual(rowsOf(second, '2017-01-09').rows.map((r) => r.value));
  });
});
