import { describe, expect, it } from 'vitest';
import { featuresBatchStep } from '../../../../consumers/features/step.ts';
import type { StationState } from '../../../../lib/domain/features/station-window.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { observation } from '../../../support/observations.ts';

const at = (events: ReturnType<typeof observation>[]) => events.map((event, i) => ({ event, ingestedAt: i }));

describe('featuresBatchStep', () => {
  it('emits one vector per new day and keeps each station its own window', () => {
    const events = [
      observation({ location: 'Albury', date: '2015-03-01' }),
      observation({ location: 'Sydney', date: '2015-03-01' }),
      observation({ location: 'Albury', date: '2015-03-02' }),
    ];
    const states = new Map<string, StationState | null>();
    const result = featuresBatchStep(at(events), states);
    expect(result.outputs.map((o) => `${o.location} ${o.date}`)).toEqual([
      'Albury 2015-03-01',
      'Sydney 2015-03-01',
      'Albury 2015-03-02',
    ]);
    expect(result.outcomes).toEqual({ emitted: 3, duplicate: 0, late: 0 });
    expect([...result.changed.keys()].sort()).toEqual(['Albury', 'Sydney']);
    expect(result.changed.get('Albury')!.lastDate).toBe('2015-03-02');
    expect(result.outputs[2]!.ingestedAt).toBe(2);
  });

  it('counts a re-delivered day as a duplicate and leaves the state as it was', () => {
    const first = observation({ location: 'Albury', date: '2015-03-01' });
    const states = new Map<string, StationState | null>();
    featuresBatchStep(at([first]), states);
    const before = states.get('Albury');
    const again = featuresBatchStep(at([first]), states);
    expect(again.outputs).toEqual([]);
    expect(again.outcomes.duplicate).toBe(1);
    expect(again.changed.size).toBe(0);
    expect(states.get('Albury')).toBe(before);
  });

  it('counts a day before the latest as late, without output; inside the window it still joins it', () => {
    const states = new Map<string, StationState | null>();
    const start = '2015-03-01';
    const day = (d: number) => observation({ location: 'Albury', date: addDays(start, d) });
    featuresBatchStep(at([day(0), day(10)]), states);
    const old = featuresBatchStep(at([day(1)]), states);
    expect(old.outcomes).toEqual({ emitted: 0, duplicate: 0, late: 1 });
    expect(old.changed.size).toBe(0);
    const recent = featuresBatchStep(at([day(8)]), states);
    expect(recent.outcomes).toEqual({ emitted: 0, duplicate: 0, late: 1 });
    expect(recent.changed.get('Albury')!.days.map((d) => d.date)).toContain(addDays(start, 8));
  });
});
