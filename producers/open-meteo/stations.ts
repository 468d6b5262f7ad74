/**
 * Live stations: places the Open-Meteo producer ingests, read from a JSON file
 * (`data/live-stations.json`). A live station joins the weatherAUS stations in one stream keyed by
 * name, so its name must not be one of theirs, not even in another case (`sydney` would be a second
 * Sydney to anything that compares names loosely), and must be a name the CSV edge accepts.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { RainstreamError } from '../../lib/platform/errors.ts';
import { STATIONS } from '../../lib/domain/features/feature-set.ts';
import { isTimeZone } from './local-time.ts';

export interface LiveStation {
  name: string;
  latitude: number;
  longitude: number;
  /** IANA zone name: the station's calendar day and its 9am/3pm are local clock times there. */
  timezone: string;
}

/** Same rule as a weatherAUS `Location` (lib/weather/csv.ts), so a live name passes every edge. */
const STATION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

const WEATHER_AUS_LOWER = new Map(STATIONS.map((name) => [name.toLowerCase(), name]));

export const liveStationSchema = z.strictObject({
  name: z.string().regex(STATION_NAME, 'a letter, then letters, digits, _ or - (at most 64)'),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  timezone: z.string().refine(isTimeZone, 'not an IANA time zone this runtime knows'),
});

export const liveStationsFileSchema = z
  .strictObject({ stations: z.array(liveStationSchema).min(1) })
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.stations.forEach((station, i) => {
      const lower = station.name.toLowerCase();
      const weatherAus = WEATHER_AUS_LOWER.get(lower);
      if (weatherAus !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stations', i, 'name'],
          message: `${station.name} collides with the weatherAUS station ${weatherAus}`,
        });
      }
      const first = seen.get(lower);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stations', i, 'name'],
          message: `${station.name} is already stations[${first}] (names compare case-insensitively)`,
        });
      } else seen.set(lower, i);
    });
  });

/** Validates the parsed JSON of a stations file; every problem is named with its path. */
export function parseLiveStations(json: unknown, origin = 'live stations'): LiveStation[] {
  const parsed = liveStationsFileSchema.safeParse(json);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RainstreamError('VALIDATION', `invalid ${origin}: ${reasons.join('; ')}`, {
      details: { origin, issues: reasons },
    });
  }
  return parsed.data.stations;
}

export async function loadLiveStations(
  path: string,
  read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<LiveStation[]> {
  const text = await read(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RainstreamError('VALIDATION', `${path} is not JSON: ${(error as Error).message}`, {
      cause: error,
      details: { origin: path },
    });
  }
  return parseLiveStations(json, path);
}

/** The stations whose names are given (case-sensitive, as keyed in the stream); unknown names throw. */
export function selectStations(all: readonly LiveStation[], names: readonly string[]): LiveStation[] {
  const byName = new Map(all.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0) {
    throw new RainstreamError(
      'VALIDATION',
      `unknown live station(s): ${unknown.join(', ')} (configured: ${all.map((s) => s.name).join(', ')})`,
    );
  }
  return [...new Set(names)].map((n) => byName.get(n)!);
}
