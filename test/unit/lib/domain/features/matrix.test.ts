import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../../../lib/domain/events.ts';
import { FEATURE_NAMES } from '../../../../../lib/domain/features/feature-set.ts';
import { buildTrainingMatrix } from '../../../../../lib/domain/features/matrix.ts';
import { type StationState } from '../../../../../lib/domain/features/station-window.ts';
import { addDays } from '../../../../../lib/domain/time.ts';
import { rainDay } from '../../../../support/observations.ts';
import { featuresStep } from '../../../../../consumers/features/step.ts';

/** Two stations, interleaved by date as a replay sends them; Cobar misses Jan 4. */
function history(): Observation[] {
  const out: Observation[] = [];
  for (let i = 0; i < 8; i++) {
    const date = addDays('2017-01-01', i);
    out.push(rainDay(date, (i * 7) % 5, 'Albury'));
    if (date !== '2017-01-04') out.push(rainDay(date, (i * 3) % 4, 'Cobar'));
  }
  return out;
}

function column(m: ReturnType<typeof buildTrainingMatrix>, name: string): number[] {
  const c = FEATURE_NAMES.indexOf(name);
  const n = m.dataset.nRows;
  return Array.from(m.dataset.data.subarray(c * n, (c + 1) * n));
}

describe('buildTrainingMatrix', () => {
  it('holds, row for row, the values the streaming step emits', () => {
    const obs = history();
    const m = buildTrainingMatrix(obs, { keepUnlabeled: true });
    const states = new Map<string, StationState | null>();
    const streamed = obs.map((o) => {
      const r = featuresStep(states.get(o.location) ?? null, o, 0);
      states.set(o.location, r.state);
      return r.output!;
    });
    expect(m.dataset.nRows).toBe(obs.length);
    expect(m.dataset.featureNames).toEqual(FEATURE_NAMES);
    expect(m.dataset.data).toBeInstanceOf(Float64Array);
    streamed.forEach((fv, r) => {
      const row = FEATURE_NAMES.map((_, c) => m.dataset.data[c * m.dataset.nRows + r]);
      expect(row, `${fv.location} ${fv.date}`).toEqual(fv.values);
      expect([m.locations[r], m.dates[r]]).toEqual([fv.location, fv.date]);
    });
  });

  it('labels D with RainToday of D+1, as the streaming join does, and drops rows without one', () => {
    const obs = history();
    const all = buildTrainingMatrix(obs, { keepUnlabeled: true });
    const rows = new Map(obs.map((o) => [`${o.location} ${o.date}`, o]));
    all.dates.forEach((date, r) => {
      const next = rows.get(`${all.locations[r]} ${addDays(date, 1)}`);
      if (next === undefined) expect(all.target[r]).toBeNaN();
      else expect(all.target[r]).toBe(next.rainToday ? 1 : 0);
    });
    // Unknown: each station's last day, and Cobar's Jan 3 (Jan 4 missing).
    const labeled = buildTrainingMatrix(obs);
    expect(labeled.counts).toEqual({ observations: 15, emitted: 15, duplicate: 0, late: 0, unlabeled: 3 });
    expect(labeled.dataset.nRows).toBe(12);
    expect(labeled.dates).not.toContain('2017-01-08');
    expect(labeled.target.every((y) => y === 0 || y === 1)).toBe(true);
    // The kept rows are the same rows, in the same order, as in the full matrix.
    const keep = all.dates.map((_, r) => r).filter((r) => !Number.isNaN(all.target[r]));
    expect(column(labeled, 'rainfall')).toEqual(keep.map((r) => column(all, 'rainfall')[r]));
    expect(column(labeled, 'rainSum3d')).toEqual(keep.map((r) => column(all, 'rainSum3d')[r]));
  });

  it('takes labels from a parallel column when given (the CSV RainTomorrow)', () => {
    const obs = history();
    const labels = obs.map((_, i) => (i % 3 === 0 ? null : i % 2 === 0));
    const m = buildTrainingMatrix(obs, { labels });
    expect(m.dataset.nRows).toBe(labels.filter((l) => l !== null).length);
    expect(Array.from(m.target)).toEqual(labels.filter((l) => l !== null).map((l) => (l ? 1 : 0)));
    expect(() => buildTrainingMatrix(obs, { labels: labels.slice(1) })).toThrow(RangeError);
  });

  it('makes no row of a duplicate or out-of-order observation, and counts it', () => {
    const obs = history();
    const withRepeats = [...obs.slice(0, 6), obs[2]!, ...obs.slice(6)];
    const m = buildTrainingMatrix(withRepeats, { keepUnlabeled: true });
    expect(m.counts).toMatchObject({ observations: 16, emitted: 15, duplicate: 1, late: 0 });
    expect(m.dataset.nRows).toBe(15);
  });
});
