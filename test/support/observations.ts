import type { Observation } from '../../lib/domain/events.ts';

/** An observation with every reading missing, overridden by `fields`: tests state only what they use. */
export function observation(fields: Partial<Observation> & Pick<Observation, 'date'>): Observation {
  return {
    location: 'Albury',
    minTemp: null,
    maxTemp: null,
    rainfall: null,
    evaporation: null,
    sunshine: null,
    windGustDir: null,
    windGustSpeed: null,
    windDir9am: null,
    windDir3pm: null,
    windSpeed9am: null,
    windSpeed3pm: null,
    humidity9am: null,
    humidity3pm: null,
    pressure9am: null,
    pressure3pm: null,
    cloud9am: null,
    cloud3pm: null,
    temp9am: null,
    temp3pm: null,
    rainToday: null,
    source: 'test',
    ...fields,
  };
}

/** A day with rainfall `mm` and the matching RainToday (> 1 mm), plus 3 pm readings derived from `mm`. */
export function rainDay(date: string, mm: number, location = 'Albury'): Observation {
  return observation({
    location,
    date,
    rainfall: mm,
    rainToday: mm > 1,
    humidity3pm: 40 + mm,
    pressure3pm: 1010 + mm,
    temp3pm: 20 + mm / 10,
    cloud3pm: mm % 9,
    sunshine: 10 - mm / 2,
    windGustSpeed: 30 + mm,
  });
}
