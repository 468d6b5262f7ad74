import { describe, expect, it } from 'vitest';
import { stationRegistry } from '../../../../lib/domain/stations.ts';
import { parseWeatherCsv } from '../../../../lib/domain/weather/csv.ts';
import { planReplay } from '../../../../producers/replay/plan.ts';

const HEADER =
  'Date,Location,MinTemp,MaxTemp,Rainfall,Evaporation,Sunshine,WindGustDir,WindGustSpeed,WindDir9am,WindDir3pm,WindSpeed9am,WindSpeed3pm,Humidity9am,Humidity3pm,Pressure9am,Pressure3pm,Cloud9am,Cloud3pm,Temp9am,Temp3pm,RainToday,RainTomorrow';
const row = (date: string, loc: string, rain = '0', today = 'No') =>
  `${date},${loc},10,20,${rain},NA,NA,W,44,W,WNW,20,24,71,22,1007.7,1007.1,8,NA,16.9,21.8,${today},No`;

describe('planReplay', () => {
  const csv = [
    HEADER,
    row('2009-01-02', 'Albury'),
    row('2009-01-01', 'Albury'),
    row('2009-01-01', 'Sydney', '5', 'Yes'),
    row('2009-01-02', 'Sydney'),
    row('2009-01-03', 'Sydney', 'lots'),
  ].join('\n');
  const rows = parseWeatherCsv(csv);

  it('sorts the location-grouped file into days in event-time order', () => {
    const plan = planReplay(rows);
    expect(plan.days.map((d) => d.date)).toEqual(['2009-01-01', '2009-01-02']);
    expect(plan.days[0]!.observations.map((o) => o.location)).toEqual(['Albury', 'Sydney']);
    expect(plan.events).toBe(4);
  });

  it('keeps invalid rows aside with their reason', () => {
    const plan = planReplay(rows);
    expect(plan.rejected).toHaveLength(1);
    expect(plan.rejected[0]!.field).toBe('Rainfall');
    expect(plan.rejected[0]!.reason).toMatch(/not a decimal number/);
    expect(plan.rejected[0]!.kind).toBe('invalid');
  });

  it('sends a station day given twice once: an exact repeat is a duplicate, other values a conflict', () => {
    const twice = parseWeatherCsv(
      [
        HEADER,
        row('2009-01-01', 'Albury'),
        row('2009-01-01', 'Albury'),
        row('2009-01-01', 'Albury', '5', 'Yes'),
      ].join('\n'),
    );
    const plan = planReplay(twice);
    expect(plan.events).toBe(1);
    expect(plan.duplicates).toBe(1);
    expect(plan.rejected).toHaveLength(1);
    const conflict = plan.rejected[0]!;
    expect(conflict).toMatchObject({ kind: 'conflict', line: 4, field: 'row' });
    expect(conflict.reason).toBe(
      'Albury 2009-01-01 is already on line 2 with other values; the first version is kept',
    );
    expect(conflict.conflictsWith).toMatchObject({ line: 2, observation: { rainfall: 0 } });
    expect(JSON.parse(conflict.raw)).toMatchObject({ rainfall: 5, rainToday: true });
    expect(plan.days[0]!.observations[0]!.rainfall).toBe(0);
  });

  it('refuses --locations naming no station, with the reason', () => {
    expect(() => planReplay(rows, { locations: ['sydney'] }, stationRegistry())).toThrow(
      /--locations: "sydney" is not a station: names are case-sensitive, the station is "Sydney"/,
    );
  });

  it('applies date range, locations and limit', () => {
    expect(planReplay(rows, { from: '2009-01-02' }).events).toBe(2);
    expect(planReplay(rows, { to: '2009-01-01' }).events).toBe(2);
    const sydney = planReplay(rows, { locations: ['Sydney'] });
    expect(sydney.events).toBe(2);
    expect(sydney.skipped).toBe(2);
    expect(planReplay(rows, { limit: 3 }).events).toBe(3);
  });

  it('never turns NA into 0', () => {
    const o = planReplay(rows).days[0]!.observations[0]!;
    expect(o.evaporation).toBeNull();
    expect(o.cloud3pm).toBeNull();
    expect(o.rainfall).toBe(0);
  });
});
