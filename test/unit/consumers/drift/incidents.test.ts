import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../../consumers/drift/close.ts';
import { applyFindings, type Incident } from '../../../../consumers/drift/incidents.ts';
import { addDays } from '../../../../lib/domain/time.ts';

const f = (breach: boolean, value = breach ? 9 : 1, clear?: boolean): Finding => ({
  station: 'Albury',
  feature: 'pressure3pm',
  kind: 'shift',
  breach,
  clear,
  statistic: 'residual_z',
  value,
  threshold: 6,
  modelVersion: 'm1',
  importance: 0.1,
  rank: 4,
});

/** Runs weekly findings from 2016-01-04 on; `null` = the week could not be judged. */
function run(weeks: (Finding | null)[], settings = { resolveAfterWeeks: 2, cooldownWeeks: 8 }) {
  let incidents: Incident[] = [];
  const events: string[] = [];
  weeks.forEach((finding, i) => {
    const week = addDays('2016-01-04', 7 * i);
    const update = applyFindings(incidents, week, finding ? [finding] : [], settings);
    incidents = update.incidents;
    for (const e of update.events) events.push(`${e.event} ${e.incident.id} ${week}`);
  });
  return { incidents, events };
}

describe('incident lifecycle', () => {
  it('opens on a breach, stays silent while it holds, resolves after two quiet weeks: two events', () => {
    const { events, incidents } = run([
      f(false),
      f(true),
      f(true, 12),
      f(true),
      f(false),
      f(false),
      f(false),
    ]);
    expect(events).toEqual([
      'opened shift:Albury:pressure3pm:2016-01-11 2016-01-11',
      'resolved shift:Albury:pressure3pm:2016-01-11 2016-02-08',
    ]);
    expect(incidents[0]).toMatchObject({
      status: 'resolved',
      weeksBreached: 3,
      peak: 12,
      lastBreachWeek: '2016-01-25',
    });
  });

  it('a week that cannot be judged neither extends nor resolves', () => {
    const { events } = run([f(true), null, null, f(false), null, f(false)]);
    expect(events).toEqual([
      'opened shift:Albury:pressure3pm:2016-01-04 2016-01-04',
      'resolved shift:Albury:pressure3pm:2016-01-04 2016-02-08',
    ]);
  });

  it('holds an incident while the statistic is below its threshold but not clearly quiet (hysteresis)', () => {
    const hovering = f(false, 5, false);
    const { events } = run([f(true), hovering, f(true), hovering, hovering, f(false), f(false)]);
    expect(events).toEqual([
      'opened shift:Albury:pressure3pm:2016-01-04 2016-01-04',
      'resolved shift:Albury:pressure3pm:2016-01-04 2016-02-15',
    ]);
  });

  it('in cooldown after a resolution a single breaching week opens nothing; two in a row do', () => {
    const { events } = run([
      f(true),
      f(false),
      f(false), // resolved 2016-01-18
      f(true), // in cooldown: waits
      f(false),
      f(true),
      f(true), // second in a row: opens
    ]);
    expect(events).toEqual([
      'opened shift:Albury:pressure3pm:2016-01-04 2016-01-04',
      'resolved shift:Albury:pressure3pm:2016-01-04 2016-01-18',
      'opened shift:Albury:pressure3pm:2016-02-15 2016-02-15',
    ]);
  });

  it('after the cooldown one breach opens again, with a new id', () => {
    const weeks = [f(true), f(false), f(false), ...Array.from({ length: 8 }, () => f(false)), f(true)];
    const { events } = run(weeks);
    expect(events.at(-1)).toBe('opened shift:Albury:pressure3pm:2016-03-21 2016-03-21');
  });

  it('keys incidents by station, feature and kind', () => {
    const other = { ...f(true), station: 'Hobart' };
    const missing = { ...f(true), kind: 'missing' as const };
    const update = applyFindings([], '2016-01-04', [f(true), other, missing]);
    expect(update.events.map((e) => e.incident.id).sort()).toEqual([
      'missing:Albury:pressure3pm:2016-01-04',
      'shift:Albury:pressure3pm:2016-01-04',
      'shift:Hobart:pressure3pm:2016-01-04',
    ]);
  });

  it('drops resolved incidents from the state once their cooldown is over', () => {
    const weeks = [f(true), f(false), f(false), ...Array.from({ length: 9 }, () => null)];
    expect(run(weeks).incidents).toEqual([]);
  });
});
