import { describe, expect, it } from 'vitest';
import {
  incidentsFromWeeks,
  type DriftWeekStat,
} from '../../../../../../lib/platform/clickhouse/queries/drift-view.ts';

const stat = (week: string, name: string, alert: boolean, value = 0.3): DriftWeekStat => ({
  week,
  modelVersion: 'm-1',
  kind: 'feature',
  name,
  statistic: 'psi',
  value,
  threshold: 0.2,
  alert,
  n: 100,
});

describe('incidentsFromWeeks', () => {
  it('joins consecutive alerting weeks; a quiet or missing week ends an incident', () => {
    const incidents = incidentsFromWeeks(
      [
        stat('2017-01-16', 'rainfall', true, 0.4),
        stat('2017-01-02', 'rainfall', true, 0.3),
        stat('2017-01-09', 'rainfall', true, 0.9),
        stat('2017-01-23', 'rainfall', false),
        stat('2017-02-06', 'rainfall', true),
        stat('2017-01-09', 'sunshine', false),
      ],
      '2017-02-06',
    );
    expect(incidents.map((i) => [i.name, i.openedWeek, i.lastWeek, i.weeks, i.maxValue, i.open])).toEqual([
      ['rainfall', '2017-02-06', '2017-02-06', 1, 0.3, true],
      ['rainfall', '2017-01-02', '2017-01-16', 3, 0.9, false],
    ]);
    expect(incidents[1]!.id).toBe('feature/rainfall/psi@2017-01-02');
  });

  it('keeps statistics of one feature apart, and opens nothing without a newest week', () => {
    const incidents = incidentsFromWeeks(
      [stat('2017-01-02', 'rainfall', true), { ...stat('2017-01-02', 'rainfall', true), statistic: 'ks' }],
      null,
    );
    expect(incidents).toHaveLength(2);
    expect(incidents.every((i) => !i.open)).toBe(true);
  });
});
