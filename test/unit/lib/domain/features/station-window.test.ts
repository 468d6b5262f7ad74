import { describe, expect, it } from 'vitest';
import type { FeatureVector, Observation } from '../../../../../lib/domain/events.ts';
import {
  DAYS_SINCE_RAIN_CAP,
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
} from '../../../../../lib/domain/features/feature-set.ts';
import {
  FeatureStateError,
  parseStationState,
  WINDOW_DAYS,
  type StationState,
} from '../../../../../lib/domain/features/station-window.ts';
import { addDays } from '../../../../../lib/domain/time.ts';
import { observation, rainDay } from '../../../../support/observations.ts';
import { featuresStep } from '../../../../../consumers/features/step.ts';

const at = (name: string) => FEATURE_NAMES.indexOf(name);
const get = (fv: FeatureVector | null, name: string) => fv!.values[at(name)];

/** Runs the step over `events` in order, returning every result and the final state. */
function run(events: Observation[], state: StationState | null = null) {
  const results = events.map((obs, i) => {
    const r = featuresStep(state, obs, 1000 + i);
    state = r.state;
    return r;
  });
  return { results, state: state! };
}

const days = (start: string, mms: number[]) => mms.map((mm, i) => rainDay(addDays(start, i), mm));

describe('featuresStep: one day', () => {
  it('emits a vector of the current feature set with the day rain facts and ingestion time', () => {
    const obs = rainDay('2017-01-01', 3.2);
    const { output, outcome, state } = featuresStep(null, obs, 42);
    expect(outcome).toBe('emitted');
    expect(output).toMatchObject({
      location: 'Albury',
      date: '2017-01-01',
      featureSetVersion: FEATURE_SET_VERSION,
      rainToday: true,
      rainfall: 3.2,
      ingestedAt: 42,
    });
    expect(state).toMatchObject({
      v: 1,
      location: 'Albury',
      lastDate: '2017-01-01',
      firstDate: '2017-01-01',
    });
  });

  it('encodes wind directions on the unit circle and missing ones as NaN', () => {
    const fv = featuresStep(
      null,
      observation({ date: '2017-01-01', windGustDir: 'E', windDir9am: 'N', windDir3pm: null }),
      0,
    ).output;
    expect(get(fv, 'windGustDirSin')).toBeCloseTo(1, 12);
    expect(get(fv, 'windGustDirCos')).toBeCloseTo(0, 12);
    expect(get(fv, 'windDir9amSin')).toBeCloseTo(0, 12);
    expect(get(fv, 'windDir9amCos')).toBeCloseTo(1, 12);
    expect(get(fv, 'windDir3pmSin')).toBeNaN();
    expect(get(fv, 'windDir3pmCos')).toBeNaN();
    const nnw = featuresStep(null, observation({ date: '2017-01-01', windGustDir: 'NNW' }), 0).output;
    expect(get(nnw, 'windGustDirSin')).toBeCloseTo(Math.sin((15 * Math.PI) / 8), 12);
  });

  it('encodes the calendar: month, month and day-of-year on circles, leap years included', () => {
    const jan1 = featuresStep(null, observation({ date: '2017-01-01' }), 0).output;
    expect(get(jan1, 'month')).toBe(1);
    expect(get(jan1, 'monthSin')).toBeCloseTo(0, 12);
    expect(get(jan1, 'monthCos')).toBeCloseTo(1, 12);
    expect(get(jan1, 'dayOfYearSin')).toBeCloseTo(0, 12);
    expect(get(jan1, 'dayOfYearCos')).toBeCloseTo(1, 12);
    const jul = featuresStep(null, observation({ date: '2017-07-01' }), 0).output;
    expect(get(jul, 'month')).toBe(7);
    expect(get(jul, 'monthCos')).toBeCloseTo(-1, 12);
    const leapLast = featuresStep(null, observation({ date: '2016-12-31' }), 0).output;
    expect(get(leapLast, 'dayOfYearSin')).toBeCloseTo(Math.sin((2 * Math.PI * 365) / 366), 12);
  });

  it('computes same-day differences, NaN when either reading is missing', () => {
    const fv = featuresStep(
      null,
      observation({
        date: '2017-01-01',
        minTemp: 12,
        maxTemp: 30,
        humidity9am: 70,
        humidity3pm: 40,
        pressure9am: 1015,
        pressure3pm: 1012,
        temp9am: 18,
      }),
      0,
    ).output;
    expect(get(fv, 'tempRange')).toBe(18);
    expect(get(fv, 'humidityChange9to3')).toBe(-30);
    expect(get(fv, 'pressureChange9to3')).toBe(-3);
    expect(get(fv, 'tempChange9to3')).toBeNaN();
  });

  it('turns missing readings into NaN, never 0, and has no history on a first day', () => {
    const fv = featuresStep(null, observation({ date: '2017-01-01', location: 'Atlantis' }), 0).output!;
    expect(get(fv, 'rainfall')).toBeNaN();
    expect(get(fv, 'rainToday')).toBeNaN();
    expect(get(fv, 'locationCode')).toBeNaN();
    for (const name of [
      'rainSum1d',
      'rainSum7d',
      'rainDays3d',
      'daysSinceRain',
      'pressure3pmChange24h',
      'prevSunshine',
    ]) {
      expect(get(fv, name), name).toBeNaN();
    }
    expect(
      featuresStep(null, observation({ date: '2017-01-01', rainToday: false }), 0).output!.values[
        at('rainToday')
      ],
    ).toBe(0);
  });

  it('rejects an observation of another station than the state', () => {
    const { state } = featuresStep(null, rainDay('2017-01-01', 0), 0);
    expect(() => featuresStep(state, rainDay('2017-01-02', 0, 'Cobar'), 0)).toThrow(FeatureStateError);
  });
});

describe('featuresStep: history', () => {
  it('sums rain and counts rainy days over the 1, 3 and 7 days before D', () => {
    // Day i (0-based) has i mm; RainToday is rainfall > 1 mm.
    const { results } = run(days('2017-01-01', [0, 1, 2, 3, 4, 5, 6, 7, 8]));
    const d8 = results[8]!.output; // D = day 8: window days 1..7
    expect(get(d8, 'rainSum1d')).toBe(7);
    expect(get(d8, 'rainSum3d')).toBe(5 + 6 + 7);
    expect(get(d8, 'rainSum7d')).toBe(1 + 2 + 3 + 4 + 5 + 6 + 7);
    expect(get(d8, 'rainDays1d')).toBe(1);
    expect(get(d8, 'rainDays3d')).toBe(3);
    expect(get(d8, 'rainDays7d')).toBe(6); // day 1 had 1 mm: not rain
  });

  it('compares 3 pm readings with D-1 and carries yesterday values', () => {
    const { results } = run(days('2017-01-01', [2, 6]));
    const d1 = results[1]!.output;
    expect(get(d1, 'pressure3pmChange24h')).toBe(4);
    expect(get(d1, 'humidity3pmChange24h')).toBe(4);
    expect(get(d1, 'temp3pmChange24h')).toBeCloseTo(0.4, 12);
    expect(get(d1, 'prevHumidity3pm')).toBe(42);
    expect(get(d1, 'prevPressure3pm')).toBe(1012);
    expect(get(d1, 'prevCloud3pm')).toBe(2);
    expect(get(d1, 'prevSunshine')).toBe(9);
    expect(get(d1, 'prevWindGustSpeed')).toBe(32);
  });

  it('counts a window by date: a missing day is a hole, not a reason to reach further back', () => {
    // Jan 1, 2, 3 observed; Jan 4 and 5 missing; then Jan 6.
    const events = [...days('2017-01-01', [10, 20, 30]), rainDay('2017-01-06', 0)];
    const d6 = run(events).results[3]!.output;
    expect(get(d6, 'rainSum1d')).toBeNaN(); // Jan 5 missing
    expect(get(d6, 'rainDays1d')).toBeNaN();
    expect(get(d6, 'rainSum3d')).toBe(30); // Jan 3..5: only Jan 3 known
    expect(get(d6, 'rainSum7d')).toBe(60); // Dec 30..Jan 5: Jan 1..3 known
    expect(get(d6, 'pressure3pmChange24h')).toBeNaN();
    expect(get(d6, 'prevHumidity3pm')).toBeNaN();
    // Ten days later, nothing of the window is known any more.
    const later = run([...events, rainDay('2017-01-20', 0)]).results[4]!.output;
    expect(get(later, 'rainSum7d')).toBeNaN();
  });

  it('counts days since rain, from before the window, capped', () => {
    const wet = rainDay('2017-01-01', 12);
    const dry = Array.from({ length: 40 }, (_, i) => rainDay(addDays('2017-01-02', i), 0));
    const { results, state } = run([wet, ...dry]);
    expect(get(results[0]!.output, 'daysSinceRain')).toBe(0);
    expect(get(results[3]!.output, 'daysSinceRain')).toBe(3);
    expect(get(results[12]!.output, 'daysSinceRain')).toBe(12); // rain day long out of the window
    expect(get(results[40]!.output, 'daysSinceRain')).toBe(DAYS_SINCE_RAIN_CAP);
    expect(state.lastRainDate).toBe('2017-01-01');
    expect(state.days.length).toBeLessThanOrEqual(WINDOW_DAYS);
  });

  it('says "dry at least the cap" only once the history is that long, else NaN', () => {
    const dry = Array.from({ length: 32 }, (_, i) => rainDay(addDays('2017-01-01', i), 0));
    const { results } = run(dry);
    expect(get(results[5]!.output, 'daysSinceRain')).toBeNaN();
    expect(get(results[DAYS_SINCE_RAIN_CAP]!.output, 'daysSinceRain')).toBe(DAYS_SINCE_RAIN_CAP);
  });

  it('falls back to rainfall > 1 mm for rain when RainToday is missing', () => {
    const events = [
      observation({ date: '2017-01-01', rainfall: 5 }),
      observation({ date: '2017-01-02', rainfall: 0 }),
    ];
    const d2 = run(events).results[1]!.output;
    expect(get(d2, 'rainDays1d')).toBe(1);
    expect(get(d2, 'daysSinceRain')).toBe(1);
  });
});

describe('featuresStep: duplicates and late events', () => {
  const base = days('2017-01-01', [1, 2, 3, 4]);

  it('ignores a re-delivered day, even with other values: no output, same state', () => {
    const { state } = run(base);
    for (const again of [base[3]!, base[1]!, rainDay('2017-01-04', 99)]) {
      const r = featuresStep(state, again, 0);
      expect(r).toEqual({ output: null, state, outcome: 'duplicate' });
      expect(r.state).toBe(state);
    }
  });

  it('inserts a late day inside the window without emitting, so the days after see it', () => {
    const week = days('2017-01-01', [1, 2, 3, 4, 5, 6]);
    const inOrder = run(week);
    // Jan 3 arrives after Jan 4.
    const late = run([0, 1, 3, 2, 4, 5].map((i) => week[i]!));
    expect(late.results[3]).toMatchObject({ output: null, outcome: 'late' });
    expect(late.results[4]!.output!.values).toEqual(inOrder.results[4]!.output!.values);
    expect(late.results[5]!.output!.values).toEqual(inOrder.results[5]!.output!.values);
    expect(late.state).toEqual(inOrder.state);
    // The inserted day is now known: a second copy is a duplicate.
    expect(featuresStep(late.state, days('2017-01-01', [1, 2, 3])[2]!, 0).outcome).toBe('duplicate');
  });

  it('leaves state alone for a day older than the window', () => {
    const { state } = run(days('2017-01-10', [1, 2, 3, 4, 5, 6, 7, 8]));
    const r = featuresStep(state, rainDay('2017-01-02', 50), 0);
    expect(r).toEqual({ output: null, state, outcome: 'late' });
  });

  it('moves the last rain date to a late rainy day only when that day is newer', () => {
    const { state } = run([rainDay('2017-01-01', 0), rainDay('2017-01-02', 0), rainDay('2017-01-04', 0)]);
    const withLate = featuresStep(state, rainDay('2017-01-03', 12), 0).state;
    expect(withLate.lastRainDate).toBe('2017-01-03');
    expect(get(featuresStep(withLate, rainDay('2017-01-05', 0), 0).output, 'daysSinceRain')).toBe(2);

    const wetLater = run([
      rainDay('2017-01-01', 0),
      rainDay('2017-01-02', 0),
      rainDay('2017-01-04', 9),
    ]).state;
    expect(featuresStep(wetLater, rainDay('2017-01-03', 12), 0).state.lastRainDate).toBe('2017-01-04');
  });
});

describe('StationState', () => {
  it('is plain JSON: a state that went through a store gives the same features', () => {
    const first = run(days('2017-01-01', [0, 4, 0, 8, 1, 0, 2, 9]));
    const stored = JSON.parse(JSON.stringify(first.state)) as StationState;
    expect(stored).toEqual(first.state);
    const next = rainDay('2017-01-09', 3);
    expect(featuresStep(stored, next, 0)).toEqual(featuresStep(first.state, next, 0));
    expect(JSON.stringify(first.state).length).toBeLessThan(1500);
  });

  it('is not mutated by the step', () => {
    const { state } = run(days('2017-01-01', [1, 2, 3]));
    const before = JSON.stringify(state);
    featuresStep(state, rainDay('2017-01-04', 5), 0);
    featuresStep(state, rainDay('2017-01-02', 5), 0);
    expect(JSON.stringify(state)).toBe(before);
  });
});

describe('parseStationState', () => {
  it('reads a v1 state of the station back as written', () => {
    const { state } = run(days('2015-03-01', [0, 3, 0]));
    expect(parseStationState(JSON.stringify(state), state.location)).toEqual(state);
    expect(parseStationState(null, state.location)).toBeNull();
  });

  it('treats anything else as no state, for the stage and the API alike', () => {
    const { state } = run(days('2015-03-01', [0, 3, 0]));
    const text = JSON.stringify(state);
    expect(parseStationState(text, 'Sydney')).toBeNull();
    expect(parseStationState(JSON.stringify({ ...state, v: 2 }), state.location)).toBeNull();
    expect(parseStationState(JSON.stringify({ ...state, days: null }), state.location)).toBeNull();
    expect(parseStationState('{not json', state.location)).toBeNull();
    expect(parseStationState('null', state.location)).toBeNull();
  });
});
