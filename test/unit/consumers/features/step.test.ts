import { describe, expect, it } from 'vitest';
import {
  featuresBatchStep,
  MAX_SEEN_RANGES,
  type StreamStationState,
} from '../../../../consumers/features/step.ts';
import type { StationState } from '../../../../lib/domain/features/station-window.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { observation, rainDay } from '../../../support/observations.ts';
import { testRules } from '../../../support/rules.ts';

const rules = testRules();
const at = (events: ReturnType<typeof observation>[]) => events.map((event, i) => ({ event, ingestedAt: i }));
const step = (events: ReturnType<typeof observation>[], states: Map<string, StationState | null>) =>
  featuresBatchStep(at(events), states, rules);
const NONE = { emitted: 0, duplicate: 0, late: 0, invalid: 0, conflict: 0 };

describe('featuresBatchStep', () => {
  it('emits one vector per new day and keeps each station its own window', () => {
    const events = [
      observation({ location: 'Albury', date: '2015-03-01' }),
      observation({ location: 'Sydney', date: '2015-03-01' }),
      observation({ location: 'Albury', date: '2015-03-02' }),
    ];
    const states = new Map<string, StationState | null>();
    const result = step(events, states);
    expect(result.outputs.map((o) => `${o.location} ${o.date}`)).toEqual([
      'Albury 2015-03-01',
      'Sydney 2015-03-01',
      'Albury 2015-03-02',
    ]);
    expect(result.outcomes).toEqual({ ...NONE, emitted: 3 });
    expect(result.rejected).toEqual([]);
    expect([...result.changed.keys()].sort()).toEqual(['Albury', 'Sydney']);
    expect(result.changed.get('Albury')!.lastDate).toBe('2015-03-02');
    expect((result.changed.get('Albury') as StreamStationState).seen).toEqual([['2015-03-01', '2015-03-02']]);
    expect(result.outputs[2]!.ingestedAt).toBe(2);
  });

  it('counts an identical re-delivered day as a duplicate, silently, and leaves the state as it was', () => {
    const first = rainDay('2015-03-01', 4);
    const states = new Map<string, StationState | null>();
    step([first], states);
    const before = states.get('Albury');
    const again = step([first, { ...first, source: 'replay-2' }], states);
    expect(again.outputs).toEqual([]);
    expect(again.outcomes).toEqual({ ...NONE, duplicate: 2 });
    expect(again.rejected).toEqual([]);
    expect(again.changed.size).toBe(0);
    expect(states.get('Albury')).toBe(before);
  });

  it('rejects a second version of a day with other readings as a conflict, with the version kept', () => {
    const states = new Map<string, StationState | null>();
    step([rainDay('2015-03-01', 4), rainDay('2015-03-02', 0)], states);
    const kept = states.get('Albury');
    const result = step([rainDay('2015-03-01', 8), { ...rainDay('2015-03-02', 0), minTemp: 3 }], states);
    expect(result.outcomes).toEqual({ ...NONE, conflict: 2 });
    expect(result.rejected).toEqual([
      {
        at: 0,
        kind: 'conflict',
        field: 'rainfall',
        reason:
          'Albury 2015-03-01 was already processed with other readings (rainfall differs); the first version is kept',
        conflicting: expect.objectContaining({ date: '2015-03-01', rainfall: 4, rain: true }),
      },
      expect.objectContaining({
        at: 1,
        kind: 'conflict',
        field: 'observation',
        reason: expect.stringMatching(/in a reading the window does not keep/),
      }),
    ]);
    expect(states.get('Albury')).toBe(kept);
  });

  it('records a late day; inside the window it still joins it, older it changes nothing', () => {
    const states = new Map<string, StationState | null>();
    const start = '2015-03-01';
    const day = (d: number) => observation({ location: 'Albury', date: addDays(start, d) });
    step([day(0), day(10)], states);
    const old = step([day(1)], states);
    expect(old.outcomes).toEqual({ ...NONE, late: 1 });
    expect(old.changed.size).toBe(0);
    expect(old.rejected).toEqual([
      {
        at: 0,
        kind: 'late',
        field: 'date',
        reason: '2015-03-02 arrived after 2015-03-11 of Albury: no forecast is made for a past day',
      },
    ]);
    const recent = step([day(8)], states);
    expect(recent.outcomes).toEqual({ ...NONE, late: 1 });
    expect(recent.rejected[0]!.reason).toMatch(/still serves the lags/);
    expect(recent.changed.get('Albury')!.days.map((d) => d.date)).toContain(addDays(start, 8));
    expect((recent.changed.get('Albury') as StreamStationState).seen).toEqual([
      ['2015-03-01', '2015-03-01'],
      ['2015-03-09', '2015-03-09'],
      ['2015-03-11', '2015-03-11'],
    ]);
    // Re-delivered, the late day inside the window is now a duplicate.
    expect(step([day(8)], states).outcomes).toEqual({ ...NONE, duplicate: 1 });
  });

  it('takes an old day it has seen, no longer in the window, as a re-delivery (a crash replay of a batch)', () => {
    const states = new Map<string, StationState | null>();
    const days = Array.from({ length: 30 }, (_, d) => rainDay(addDays('2015-03-01', d), d % 3));
    step(days, states);
    const replayed = step(days, states);
    expect(replayed.outcomes).toEqual({ ...NONE, duplicate: 30 });
    expect(replayed.rejected).toEqual([]);
  });

  it('rejects invalid observations before they touch any state, naming the field', () => {
    const states = new Map<string, StationState | null>();
    step([observation({ location: 'Darwin', date: '2015-03-01' })], states);
    const darwin = states.get('Darwin');
    const result = step(
      [
        observation({ location: 'Darwin', date: '2099-01-01' }),
        observation({ location: 'Darwin', date: '9999-12-31' }),
        observation({ location: 'sydney', date: '2015-03-02' }),
        observation({ location: 'Darwin', date: '2015-03-02', maxTemp: 10, minTemp: 20 }),
        observation({ location: 'Darwin', date: '2015-03-02', rainToday: false, rainfall: 80 }),
        observation({ location: 'Darwin', date: '2015-03-02', cloud9am: 4.5, humidity3pm: 150 }),
      ],
      states,
    );
    expect(result.outcomes).toEqual({ ...NONE, invalid: 6 });
    expect(result.rejected.map((r) => [r.at, r.kind, r.field])).toEqual([
      [0, 'invalid', 'date'],
      [1, 'invalid', 'date'],
      [2, 'invalid', 'location'],
      [3, 'invalid', 'maxTemp'],
      [4, 'invalid', 'rainToday'],
      [5, 'invalid', 'humidity3pm'],
    ]);
    expect(result.rejected[5]!.reason).toMatch(/\(and 1 more: cloud9am\)/);
    expect(result.changed.size).toBe(0);
    expect(states.get('Darwin')).toBe(darwin);
    // Darwin's next real day is processed as usual: nothing was poisoned.
    expect(step([observation({ location: 'Darwin', date: '2015-03-02' })], states).outcomes.emitted).toBe(1);
  });

  it('rejects an observation keyed by another station, which would be processed beside its state', () => {
    const result = featuresBatchStep(
      [{ event: observation({ location: 'Sydney', date: '2015-03-01' }), ingestedAt: 0, key: 'Perth' }],
      new Map(),
      rules,
    );
    expect(result.rejected).toEqual([
      { at: 0, kind: 'invalid', field: 'key', reason: 'key "Perth" is not the record\'s station "Sydney"' },
    ]);
  });

  it('reads a state written before fingerprints and seen ranges existed', () => {
    const states = new Map<string, StationState | null>();
    const days = Array.from({ length: 12 }, (_, d) => rainDay(addDays('2015-03-01', d), 1));
    step(days, states);
    const legacy = JSON.parse(JSON.stringify(states.get('Albury'))) as StreamStationState;
    delete legacy.seen;
    for (const d of legacy.days) delete (d as { fp?: number }).fp;
    states.set('Albury', legacy);
    const result = step([days[11]!, { ...days[10]!, rainfall: 9, rainToday: true }, days[0]!], states);
    expect(result.outcomes).toEqual({ ...NONE, duplicate: 3 });
    const before = step([observation({ date: '2015-02-01' })], states);
    expect(before.outcomes).toEqual({ ...NONE, late: 1 });
  });

  it('bounds the seen ranges, forgetting the oldest (whose repeats are then recorded as late)', () => {
    const states = new Map<string, StationState | null>();
    const every3rd = Array.from({ length: MAX_SEEN_RANGES + 10 }, (_, i) =>
      observation({ date: addDays('2010-01-01', 3 * i) }),
    );
    step(every3rd, states);
    const state = states.get('Albury') as StreamStationState;
    expect(state.seen).toHaveLength(MAX_SEEN_RANGES);
    expect(step([every3rd[0]!], states).outcomes).toEqual({ ...NONE, late: 1 });
    expect(step([every3rd[20]!], states).outcomes).toEqual({ ...NONE, duplicate: 1 });
  });
});
