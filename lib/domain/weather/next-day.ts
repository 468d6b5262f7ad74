import { addDays } from '../time.ts';
import type { NumericField, Observation } from './observation.ts';

/**
 * Regression labels of the form "tomorrow's reading at the same station": for each observation, the
 * value of `field` in the same location's observation dated exactly one calendar day later, or null
 * when that day is absent or its reading is missing. Matching by date (not by the next row of the
 * station) keeps a gap in a station's record from pairing a day with a reading a week later.
 *
 * When a (location, date) occurs more than once, the first occurrence gives the reading: the input order
 * decides, so the same input always gives the same labels.
 */
export function nextDayValues(observations: readonly Observation[], field: NumericField): (number | null)[] {
  const byDay = new Map<string, number | null>();
  for (const o of observations) {
    const key = dayKey(o.location, o.date);
    if (!byDay.has(key)) byDay.set(key, o[field]);
  }
  return observations.map((o) => byDay.get(dayKey(o.location, addDays(o.date, 1))) ?? null);
}

// A location name never holds a newline, so the key cannot collide across (location, date) pairs.
const dayKey = (location: string, date: string) => `${location}\n${date}`;
