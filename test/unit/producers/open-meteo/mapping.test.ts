import { describe, expect, it } from 'vitest';
import { addDays } from '../../../../lib/domain/time.ts';
import type { Observation } from '../../../../lib/domain/weather/observation.ts';
import { mapOpenMeteoBody } from '../../../../producers/open-meteo/mapping.ts';
import { buildRequestUrl } from '../../../../producers/open-meteo/request.ts';
import type { LiveStation } from '../../../../producers/open-meteo/stations.ts';
import {
  buildOpenMeteoAnswer,
  gridCell,
  syntheticHourly,
  type Labelling,
  type SyntheticHourlyVariable,
  type ValueOverride,
} from '../../../support/open-meteo-server.ts';

const HOUR = 3_600_000;
const marrakech: LiveStation = {
  name: 'Marrakech',
  latitude: 31.6295,
  longitude: -7.9811,
  timezone: 'Africa/Casablanca',
};
const sydney: LiveStation = {
  name: 'SydneyLive',
  latitude: -33.8688,
  longitude: 151.2093,
  timezone: 'Australia/Sydney',
};
const berlin: LiveStation = {
  name: 'BerlinLive',
  latitude: 52.52,
  longitude: 13.41,
  timezone: 'Europe/Berlin',
};

interface AnswerOptions {
  /** The server's clock: Open-Meteo labels the whole series at the zone's offset at this instant. */
  now: number;
  labels?: Labelling;
  overrides?: ValueOverride[];
}

/** The body the archive would send for from-1..to, as fetch-days asks for it. */
function archiveBody(station: LiveStation, from: string, to: string, o: AnswerOptions): string {
  const url = buildRequestUrl('http://stand-in/v1/archive', {
    mode: 'archive',
    station,
    startDate: addDays(from, -1),
    endDate: to,
  });
  return buildOpenMeteoAnswer('archive', url.searchParams, {
    now: o.now,
    labels: o.labels ?? 'fixed-offset',
    overrides: o.overrides ?? [],
    archiveDelayDays: 5,
  });
}

function mapDays(station: LiveStation, from: string, to: string, o: AnswerOptions) {
  return mapOpenMeteoBody(archiveBody(station, from, to, o), station, { from, to });
}

function edit(body: string, change: (json: Answer) => void): string {
  const json = JSON.parse(body) as Answer;
  change(json);
  return JSON.stringify(json);
}

interface Answer {
  latitude: number;
  utc_offset_seconds: number;
  timezone: string;
  hourly: Record<string, (number | null | string)[]> & { time: string[] };
  daily: Record<string, (number | null | string)[]> & { time: string[] };
}

/** The value the stand-in serves at a UTC instant: the truth, computed apart from the mapping. */
function truth(station: LiveStation, variable: SyntheticHourlyVariable, instant: number): number {
  const cell = gridCell(station.latitude, station.longitude);
  return syntheticHourly(variable, cell.latitude, cell.longitude, instant);
}

function only(observations: Observation[], date: string): Observation {
  const found = observations.filter((o) => o.date === date);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Rain over the hours ending after `afterInstant` up to and including `untilInstant`. */
function rainTruth(
  station: LiveStation,
  afterInstant: number,
  untilInstant: number,
  wet: ReadonlyMap<number, number> = new Map(),
): { sum: number; hours: number } {
  let sum = 0;
  let hours = 0;
  for (let t = afterInstant + HOUR; t <= untilInstant; t += HOUR) {
    sum += wet.get(t) ?? truth(station, 'precipitation', t);
    hours++;
  }
  return { sum: Math.round(sum * 10) / 10, hours };
}

/** Rain forced at instants (hours around a rainfall-day boundary), as overrides of a fixed-offset answer. */
function wetHours(wet: ReadonlyMap<number, number>, offsetHours: number): ValueOverride[] {
  return [...wet].map(([instant, mm]) => ({
    section: 'hourly',
    variable: 'precipitation',
    time: new Date(instant + offsetHours * HOUR).toISOString().slice(0, 16),
    value: mm,
  }));
}

const WINTER_2025 = Date.UTC(2025, 0, 10);

describe('mapOpenMeteoBody: shape', () => {
  it('produces exactly the Observation fields, one per requested day, sourced open-meteo', () => {
    const { observations, rejections } = mapDays(marrakech, '2024-01-10', '2024-01-13', { now: WINTER_2025 });
    expect(rejections).toEqual([]);
    expect(observations.map((o) => o.date)).toEqual(['2024-01-10', '2024-01-11', '2024-01-12', '2024-01-13']);
    for (const o of observations) {
      expect(Object.keys(o)).toEqual([
        'location',
        'date',
        'minTemp',
        'maxTemp',
        'rainfall',
        'evaporation',
        'sunshine',
        'windGustDir',
        'windGustSpeed',
        'windDir9am',
        'windDir3pm',
        'windSpeed9am',
        'windSpeed3pm',
        'humidity9am',
        'humidity3pm',
        'pressure9am',
        'pressure3pm',
        'cloud9am',
        'cloud3pm',
        'temp9am',
        'temp3pm',
        'rainToday',
        'source',
      ]);
      expect(o.location).toBe('Marrakech');
      expect(o.source).toBe('open-meteo');
      expect(o.maxTemp! >= o.minTemp!).toBe(true);
      expect(Number.isInteger(o.cloud9am) && o.cloud9am! >= 0 && o.cloud9am! <= 8).toBe(true);
      expect(o.rainToday).toBe(o.rainfall! > 1);
    }
  });

  it('converts units: sunshine s -> h, speeds to whole km/h, cloud % -> oktas, degrees -> compass', () => {
    const body = edit(archiveBody(marrakech, '2024-01-10', '2024-01-10', { now: WINTER_2025 }), (a) => {
      const d = a.daily.time.indexOf('2024-01-10');
      a.daily.sunshine_duration[d] = 30_145.45;
      a.daily.wind_gusts_10m_max[d] = 56.5;
      a.daily.et0_fao_evapotranspiration[d] = 2.46;
      const h9 = a.hourly.time.indexOf('2024-01-10T09:00'); // Marrakech is UTC+1 in January
      a.hourly.cloud_cover[h9] = 100;
      a.hourly.wind_speed_10m[h9] = 12.5;
      a.hourly.wind_direction_10m[h9] = 348.75;
      a.hourly.relative_humidity_2m[h9] = 87;
      a.hourly.pressure_msl[h9] = 1017.25;
    });
    const o = only(
      mapOpenMeteoBody(body, marrakech, { from: '2024-01-10', to: '2024-01-10' }).observations,
      '2024-01-10',
    );
    expect(o).toMatchObject({
      sunshine: 8.4,
      windGustSpeed: 57,
      evaporation: 2.5,
      cloud9am: 8,
      windSpeed9am: 13,
      windDir9am: 'N',
      humidity9am: 87,
      pressure9am: 1017.3,
    });
  });
});

describe('mapOpenMeteoBody: 9am and 3pm by the local clock', () => {
  it('reads an ordinary day at local 09:00 and 15:00 (Marrakech, UTC+1)', () => {
    const { observations } = mapDays(marrakech, '2024-01-10', '2024-01-10', { now: WINTER_2025 });
    const o = only(observations, '2024-01-10');
    const nine = Date.UTC(2024, 0, 10, 8);
    const three = Date.UTC(2024, 0, 10, 14);
    expect(o.temp9am).toBe(truth(marrakech, 'temperature_2m', nine));
    expect(o.temp3pm).toBe(truth(marrakech, 'temperature_2m', three));
    expect(o.humidity9am).toBe(truth(marrakech, 'relative_humidity_2m', nine));
    expect(o.pressure3pm).toBe(truth(marrakech, 'pressure_msl', three));
    expect(o.windSpeed9am).toBe(Math.round(truth(marrakech, 'wind_speed_10m', nine)));
  });

  it("reads Marrakech's Ramadan days (UTC+0) at their own 09:00 although the answer is labelled at UTC+1", () => {
    const { observations } = mapDays(marrakech, '2024-03-09', '2024-03-12', { now: WINTER_2025 });
    expect(only(observations, '2024-03-09').temp9am).toBe(
      truth(marrakech, 'temperature_2m', Date.UTC(2024, 2, 9, 8)),
    );
    const ramadan = only(observations, '2024-03-11');
    expect(ramadan.temp9am).toBe(truth(marrakech, 'temperature_2m', Date.UTC(2024, 2, 11, 9)));
    expect(ramadan.temp3pm).toBe(truth(marrakech, 'temperature_2m', Date.UTC(2024, 2, 11, 15)));
  });

  describe('Sydney, southern hemisphere, daylight saving ends 7 April 2024 (a 25-hour day)', () => {
    // Fetched in January 2025: Open-Meteo labels everything at AEDT (+11), also the April days at AEST.
    const now = Date.UTC(2025, 0, 15);
    // Rain in the first and last hour of the 7th's rainfall day, and in the hours just outside it.
    const wet = new Map([
      [Date.UTC(2024, 3, 5, 22), 4], // ends at 9am AEDT on the 6th: the 6th's
      [Date.UTC(2024, 3, 5, 23), 3], // first hour of the 7th's
      [Date.UTC(2024, 3, 6, 23), 2], // ends at 9am AEST on the 7th: last hour of the 7th's
      [Date.UTC(2024, 3, 7, 0), 7], // the 8th's
    ]);
    const { observations, rejections } = mapDays(sydney, '2024-04-06', '2024-04-08', {
      now,
      overrides: wetHours(wet, 11),
    });

    it('maps every day', () => {
      expect(rejections).toEqual([]);
      expect(observations.map((o) => o.date)).toEqual(['2024-04-06', '2024-04-07', '2024-04-08']);
    });

    it('takes 9am and 3pm at the instants the clock reads them', () => {
      const cases = [
        ['2024-04-06', Date.UTC(2024, 3, 5, 22), Date.UTC(2024, 3, 6, 4)], // AEDT
        ['2024-04-07', Date.UTC(2024, 3, 6, 23), Date.UTC(2024, 3, 7, 5)], // AEST from 03:00
        ['2024-04-08', Date.UTC(2024, 3, 7, 23), Date.UTC(2024, 3, 8, 5)], // AEST
      ] as const;
      for (const [date, nine, three] of cases) {
        const o = only(observations, date);
        expect(o.temp9am, date).toBe(truth(sydney, 'temperature_2m', nine));
        expect(o.temp3pm, date).toBe(truth(sydney, 'temperature_2m', three));
        expect(o.humidity9am, date).toBe(truth(sydney, 'relative_humidity_2m', nine));
      }
      // The label "09:00" of 8 April is 08:00 AEST: reading by label would have taken another value.
      expect(truth(sydney, 'temperature_2m', Date.UTC(2024, 3, 7, 22))).not.toBe(
        only(observations, '2024-04-08').temp9am,
      );
    });

    it('sums rain over the 25 hours from 9am AEDT on the 6th to 9am AEST on the 7th', () => {
      const rain = rainTruth(sydney, Date.UTC(2024, 3, 5, 22), Date.UTC(2024, 3, 6, 23), wet);
      expect(rain.hours).toBe(25);
      expect(rain.sum).toBeGreaterThanOrEqual(5);
      expect(only(observations, '2024-04-07').rainfall).toBeCloseTo(rain.sum, 6);
      const next = rainTruth(sydney, Date.UTC(2024, 3, 6, 23), Date.UTC(2024, 3, 7, 23), wet);
      expect(next.hours).toBe(24);
      expect(only(observations, '2024-04-08').rainfall).toBeCloseTo(next.sum, 6);
    });
  });

  describe('Sydney, daylight saving starts 6 October 2024 (a 23-hour day)', () => {
    const now = Date.UTC(2025, 6, 1); // fetched in July: labelled at AEST (+10), also the AEDT days
    const wet = new Map([
      [Date.UTC(2024, 9, 4, 23), 4], // ends at 9am AEST on the 5th: the 5th's
      [Date.UTC(2024, 9, 5, 0), 3], // first hour of the 6th's
      [Date.UTC(2024, 9, 5, 22), 2], // ends at 9am AEDT on the 6th: last hour of the 6th's
      [Date.UTC(2024, 9, 5, 23), 7], // the 7th's
    ]);
    const { observations, rejections } = mapDays(sydney, '2024-10-05', '2024-10-07', {
      now,
      overrides: wetHours(wet, 10),
    });

    it('takes 9am and 3pm by the clock and sums 23 hours of rain', () => {
      expect(rejections).toEqual([]);
      expect(only(observations, '2024-10-06').temp9am).toBe(
        truth(sydney, 'temperature_2m', Date.UTC(2024, 9, 5, 22)),
      );
      expect(only(observations, '2024-10-07').temp3pm).toBe(
        truth(sydney, 'temperature_2m', Date.UTC(2024, 9, 7, 4)),
      );
      const rain = rainTruth(sydney, Date.UTC(2024, 9, 4, 23), Date.UTC(2024, 9, 5, 22), wet);
      expect(rain.hours).toBe(23);
      expect(rain.sum).toBeGreaterThanOrEqual(5);
      expect(only(observations, '2024-10-06').rainfall).toBeCloseTo(rain.sum, 6);
    });
  });

  it('reads Berlin on 31 March 2024 (23 hours) at 07:00 and 13:00 UTC', () => {
    const { observations } = mapDays(berlin, '2024-03-30', '2024-04-01', { now: Date.UTC(2025, 0, 1) });
    expect(only(observations, '2024-03-30').temp9am).toBe(
      truth(berlin, 'temperature_2m', Date.UTC(2024, 2, 30, 8)),
    );
    expect(only(observations, '2024-03-31').temp9am).toBe(
      truth(berlin, 'temperature_2m', Date.UTC(2024, 2, 31, 7)),
    );
    expect(only(observations, '2024-03-31').temp3pm).toBe(
      truth(berlin, 'temperature_2m', Date.UTC(2024, 2, 31, 13)),
    );
  });

  it('reads an answer labelled by the local clock (repeated and skipped hours) the same way', () => {
    const hourFields = [
      'temp9am',
      'temp3pm',
      'humidity9am',
      'humidity3pm',
      'pressure9am',
      'pressure3pm',
      'cloud9am',
      'cloud3pm',
      'windSpeed9am',
      'windSpeed3pm',
      'windDir9am',
      'windDir3pm',
      'rainfall',
      'rainToday',
    ] as const;
    for (const [from, to, now] of [
      ['2024-04-06', '2024-04-08', Date.UTC(2025, 0, 15)],
      ['2024-10-05', '2024-10-07', Date.UTC(2025, 6, 1)],
    ] as const) {
      const fixed = mapDays(sydney, from, to, { now, labels: 'fixed-offset' });
      const wall = mapDays(sydney, from, to, { now, labels: 'wall-clock' });
      const body = archiveBody(sydney, from, to, { now, labels: 'wall-clock' });
      expect(body).toContain(
        from === '2024-04-06'
          ? '"2024-04-07T02:00","2024-04-07T02:00"'
          : '"2024-10-06T01:00","2024-10-06T03:00"',
      );
      expect(wall.rejections).toEqual([]);
      for (let i = 0; i < 3; i++) {
        for (const f of hourFields)
          expect(wall.observations[i]![f], `${from} +${i} ${f}`).toEqual(fixed.observations[i]![f]);
      }
    }
  });
});

describe('mapOpenMeteoBody: the 9am-to-9am rainfall day', () => {
  /** Marrakech in January: labels are local time (UTC+1 all month). */
  const dryBody = (change: (a: Answer) => void) =>
    edit(archiveBody(marrakech, '2024-01-10', '2024-01-11', { now: WINTER_2025 }), (a) => {
      a.hourly.precipitation = a.hourly.precipitation.map(() => 0);
      change(a);
    });
  const set = (a: Answer, label: string, mm: number | null) => {
    const i = a.hourly.time.indexOf(label);
    expect(i, label).toBeGreaterThanOrEqual(0);
    a.hourly.precipitation[i] = mm;
  };
  const map = (body: string) =>
    mapOpenMeteoBody(body, marrakech, { from: '2024-01-10', to: '2024-01-11' }).observations;

  it("counts the hour ending at 09:00 in the day, the hour ending at 10:00 in the next day's", () => {
    const [d10, d11] = map(
      dryBody((a) => {
        set(a, '2024-01-09T10:00', 0.4); // 09:00-10:00 on the 9th: first hour of the 10th's rainfall day
        set(a, '2024-01-10T09:00', 0.7); // 08:00-09:00 on the 10th: last hour of it
        set(a, '2024-01-10T10:00', 2.5); // belongs to the 11th
      }),
    );
    expect(d10).toMatchObject({ date: '2024-01-10', rainfall: 1.1, rainToday: true });
    expect(d11).toMatchObject({ date: '2024-01-11', rainfall: 2.5, rainToday: true });
  });

  it('says RainToday only above 1 mm, as the data set does', () => {
    const [d10, d11] = map(
      dryBody((a) => {
        set(a, '2024-01-10T03:00', 1.0);
      }),
    );
    expect(d10).toMatchObject({ rainfall: 1, rainToday: false });
    expect(d11).toMatchObject({ rainfall: 0, rainToday: false });
  });

  it('leaves rainfall and RainToday null when an hour of the window is missing', () => {
    const [d10, d11] = map(dryBody((a) => set(a, '2024-01-10T05:00', null)));
    expect(d10).toMatchObject({ rainfall: null, rainToday: null });
    expect(d11).toMatchObject({ rainfall: 0, rainToday: false });
  });

  it('leaves rainfall null for a first day whose previous morning is not in the answer', () => {
    const body = archiveBody(marrakech, '2024-01-10', '2024-01-11', { now: WINTER_2025 });
    const [first] = mapOpenMeteoBody(body, marrakech, { from: '2024-01-09', to: '2024-01-11' }).observations;
    expect(first).toMatchObject({ date: '2024-01-09', rainfall: null, rainToday: null });
  });
});

describe('mapOpenMeteoBody: gust direction', () => {
  const body = (change: (a: Answer, hourOf: (label: string) => number) => void) =>
    edit(archiveBody(marrakech, '2024-01-10', '2024-01-10', { now: WINTER_2025 }), (a) => {
      const hourOf = (label: string) => a.hourly.time.indexOf(label);
      a.hourly.wind_gusts_10m = a.hourly.wind_gusts_10m.map(() => 20);
      change(a, hourOf);
    });
  const gustDir = (b: string) =>
    only(mapOpenMeteoBody(b, marrakech, { from: '2024-01-10', to: '2024-01-10' }).observations, '2024-01-10')
      .windGustDir;

  it('is the hourly direction at the hour of the strongest gust, the first of equals', () => {
    expect(
      gustDir(
        body((a, at) => {
          a.hourly.wind_gusts_10m[at('2024-01-10T13:00')] = 80;
          a.hourly.wind_direction_10m[at('2024-01-10T13:00')] = 225;
          a.hourly.wind_gusts_10m[at('2024-01-09T23:00')] = 99; // the day before: not this day's gust
        }),
      ),
    ).toBe('SW');
    expect(
      gustDir(
        body((a, at) => {
          a.hourly.wind_gusts_10m[at('2024-01-10T04:00')] = 80;
          a.hourly.wind_direction_10m[at('2024-01-10T04:00')] = 90;
          a.hourly.wind_gusts_10m[at('2024-01-10T16:00')] = 80;
          a.hourly.wind_direction_10m[at('2024-01-10T16:00')] = 270;
        }),
      ),
    ).toBe('E');
  });

  it('is null for a calm day and when no gust is known', () => {
    expect(
      gustDir(
        body((a) => {
          const d = a.daily.time.indexOf('2024-01-10');
          a.daily.wind_gusts_10m_max[d] = 0.2;
        }),
      ),
    ).toBeNull();
    expect(
      gustDir(body((a) => (a.hourly.wind_gusts_10m = a.hourly.wind_gusts_10m.map(() => null)))),
    ).toBeNull();
  });
});

describe('mapOpenMeteoBody: nulls and rejections', () => {
  const one = (body: string) => mapOpenMeteoBody(body, marrakech, { from: '2024-01-10', to: '2024-01-11' });
  const base = () => archiveBody(marrakech, '2024-01-10', '2024-01-11', { now: WINTER_2025 });
  const at = (a: Answer, variable: string, label: string, value: number | null) => {
    a.hourly[variable]![a.hourly.time.indexOf(label)] = value;
  };
  const day = (a: Answer, variable: string, date: string, value: number | null) => {
    a.daily[variable]![a.daily.time.indexOf(date)] = value;
  };

  it('keeps a null as null and the rest of the day', () => {
    const { observations, rejections } = one(
      edit(base(), (a) => {
        at(a, 'temperature_2m', '2024-01-10T09:00', null);
        at(a, 'cloud_cover', '2024-01-10T15:00', null);
        day(a, 'sunshine_duration', '2024-01-10', null);
        day(a, 'et0_fao_evapotranspiration', '2024-01-10', null);
      }),
    );
    expect(rejections).toEqual([]);
    const o = only(observations, '2024-01-10');
    expect(o).toMatchObject({ temp9am: null, cloud3pm: null, sunshine: null, evaporation: null });
    expect(o.temp3pm).not.toBeNull();
    expect(o.maxTemp).not.toBeNull();
  });

  it('rejects a day with a value outside its physical range, naming field, variable, hour and value', () => {
    const cases: [(a: Answer) => void, string, RegExp][] = [
      [
        (a) => at(a, 'relative_humidity_2m', '2024-01-10T09:00', 140),
        'humidity9am',
        /relative_humidity_2m at 2024-01-10T09:00 = 140/,
      ],
      [
        (a) => at(a, 'cloud_cover', '2024-01-10T15:00', -5),
        'cloud3pm',
        /cloud_cover at 2024-01-10T15:00 \(%\) = -5 outside \[0, 100\]/,
      ],
      [(a) => at(a, 'wind_direction_10m', '2024-01-10T09:00', 400), 'windDir9am', /= 400 outside \[0, 360\]/],
      [
        (a) => at(a, 'pressure_msl', '2024-01-10T15:00', 700),
        'pressure3pm',
        /= 700: 700 hPa is outside the physical range 850 to 1100 hPa/,
      ],
      [
        (a) => at(a, 'precipitation', '2024-01-10T02:00', -0.5),
        'rainfall',
        /precipitation at 2024-01-10T02:00 = -0.5/,
      ],
      [
        (a) => day(a, 'temperature_2m_max', '2024-01-10', 75),
        'maxTemp',
        /temperature_2m_max = 75: 75 °C is outside/,
      ],
      [
        (a) => day(a, 'temperature_2m_min', '2024-01-10', 30),
        'maxTemp',
        /maxTemp [\d.]+ °C is below minTemp 30 °C/,
      ],
      [
        (a) => day(a, 'sunshine_duration', '2024-01-10', 90_000),
        'sunshine',
        /sunshine_duration \(s\) = 90000/,
      ],
      [(a) => day(a, 'wind_gusts_10m_max', '2024-01-10', -1), 'windGustSpeed', /wind_gusts_10m_max = -1/],
      [
        (a) => at(a, 'wind_gusts_10m', '2024-01-10T12:00', 900),
        'windGustDir',
        /wind_gusts_10m at 2024-01-10T12:00 = 900/,
      ],
    ];
    for (const [change, field, reason] of cases) {
      const { observations, rejections } = one(edit(base(), change));
      expect(rejections, field).toHaveLength(1);
      expect(rejections[0]).toMatchObject({ station: 'Marrakech', date: '2024-01-10', field });
      expect(rejections[0]!.reason).toMatch(reason);
      expect(observations.map((o) => o.date)).toEqual(['2024-01-11']);
    }
  });

  it('rejects a day the archive has not published (all null), and keeps the published ones', () => {
    // Five days of delay: on 13 January at noon the archive has values until 8 January, noon.
    const { observations, rejections } = mapDays(marrakech, '2024-01-07', '2024-01-10', {
      now: Date.UTC(2024, 0, 13, 12),
    });
    expect(observations.map((o) => o.date)).toEqual(['2024-01-07', '2024-01-08']);
    expect(rejections.map((r) => [r.date, r.field])).toEqual([
      ['2024-01-09', 'date'],
      ['2024-01-10', 'date'],
    ]);
    expect(rejections[0]!.reason).toMatch(/no value for this day/);
    // The 8th has its morning but neither its 3pm nor its daily aggregates: partly null, not rejected.
    expect(only(observations, '2024-01-08')).toMatchObject({ maxTemp: null, temp3pm: null });
    expect(only(observations, '2024-01-08').temp9am).not.toBeNull();
  });

  it('rejects each requested day the answer lacks, and never maps a day outside the range', () => {
    const { observations, rejections } = one(
      edit(base(), (a) => {
        const i = a.daily.time.indexOf('2024-01-11');
        for (const k of Object.keys(a.daily)) a.daily[k]!.splice(i, 1);
      }),
    );
    expect(observations.map((o) => o.date)).toEqual(['2024-01-10']);
    expect(rejections).toEqual([
      { station: 'Marrakech', date: '2024-01-11', field: 'date', reason: 'day missing from the answer' },
    ]);
  });

  it('returns a day the answer repeats twice (fetch-days dedupes)', () => {
    const { observations } = one(
      edit(base(), (a) => {
        for (const k of Object.keys(a.daily)) a.daily[k]!.push(a.daily[k]![1]!);
      }),
    );
    expect(observations.map((o) => o.date)).toEqual(['2024-01-10', '2024-01-11', '2024-01-10']);
  });

  it('rejects every requested day of an answer it cannot use, with the reason', () => {
    const reasons: [string, string, RegExp][] = [
      ['{"error":true,"reason":"Parameter \'start_date\' is out of allowed range"}', 'error', /start_date/],
      ['{"latitude":31.6,"longitu', 'body', /not JSON/],
      [
        edit(base(), (a) => (a.timezone = 'GMT')),
        'timezone',
        /answered in GMT, asked for Africa\/Casablanca/,
      ],
      [edit(base(), (a) => (a.latitude = 40)), 'latitude', /more than 1° from the station/],
      [edit(base(), (a) => (a.hourly.time[30] = '2024-01-10T20:00')), 'hourly.time', /not consecutive hours/],
    ];
    for (const [body, field, reason] of reasons) {
      const { observations, rejections } = one(body);
      expect(observations).toEqual([]);
      expect(rejections.map((r) => [r.date, r.field])).toEqual([
        ['2024-01-10', field],
        ['2024-01-11', field],
      ]);
      expect(rejections[0]!.reason).toMatch(/^answer unusable: /);
      expect(rejections[0]!.reason).toMatch(reason);
    }
  });

  it('rejects an answer labelled at an offset its zone never has: its 9am would be another hour', () => {
    const JUNE = { from: '2024-06-10', to: '2024-06-11' };
    const june = archiveBody(sydney, JUNE.from, JUNE.to, { now: WINTER_2025 });
    for (const offset of [0, 1800, -36_000, 3600 * 14]) {
      const body = edit(june, (a) => (a.utc_offset_seconds = offset));
      const { observations, rejections } = mapOpenMeteoBody(body, sydney, JUNE);
      expect(observations, String(offset)).toEqual([]);
      expect(rejections.map((r) => r.field)).toEqual(['utc_offset_seconds', 'utc_offset_seconds']);
      expect(rejections[0]!.reason).toMatch(new RegExp(`${offset} s is not an offset of Australia/Sydney`));
    }
    // Either of Sydney's offsets may label June (Open-Meteo labels at the offset of the time of asking).
    for (const offset of [36_000, 39_600]) {
      const body = edit(june, (a) => (a.utc_offset_seconds = offset));
      expect(mapOpenMeteoBody(body, sydney, JUNE).rejections.map((r) => r.field)).not.toContain(
        'utc_offset_seconds',
      );
    }
  });

  it("accepts the offset of the time the answer was fetched, though the zone's rules have changed since its days", () => {
    // Samoa moved across the date line at the end of 2011: UTC-11/-10 before, +13/+14 after.
    const apia: LiveStation = {
      name: 'ApiaLive',
      latitude: -13.83,
      longitude: -171.76,
      timezone: 'Pacific/Apia',
    };
    const range = { from: '2009-06-10', to: '2009-06-11' };
    const body = archiveBody(apia, range.from, range.to, { now: Date.UTC(2009, 6, 1) });
    const relabelled = edit(body, (a) => (a.utc_offset_seconds = 13 * 3600));
    expect(mapOpenMeteoBody(relabelled, apia, range).rejections[0]?.field).toBe('utc_offset_seconds');
    const fetchedAt = '2025-07-01T00:00:00.000Z';
    expect(
      mapOpenMeteoBody(relabelled, apia, range, { fetchedAt }).rejections.map((r) => r.field),
    ).not.toContain('utc_offset_seconds');
  });

  it('rejects an hourly series with an hour missing or repeated away from a daylight-saving change', () => {
    // A regular January answer of Marrakech, one hour (10 January, 13:00) dropped or doubled in every
    // column: read by labels, its rainfall day would be 23 or 25 hours long.
    const drop = (a: Answer, i: number) => {
      for (const key of Object.keys(a.hourly)) a.hourly[key]!.splice(i, 1);
    };
    const double = (a: Answer, i: number) => {
      for (const key of Object.keys(a.hourly)) a.hourly[key]!.splice(i, 0, a.hourly[key]![i]!);
    };
    for (const change of [drop, double]) {
      const body = edit(base(), (a) => {
        const i = a.hourly.time.indexOf('2024-01-10T13:00');
        expect(i).toBeGreaterThan(0);
        change(a, i);
      });
      const { observations, rejections } = one(body);
      expect(observations, change.name).toEqual([]);
      expect(rejections.map((r) => r.field)).toEqual(['hourly.time', 'hourly.time']);
      expect(rejections[0]!.reason).toMatch(/no daylight-saving change/);
    }
  });
});
