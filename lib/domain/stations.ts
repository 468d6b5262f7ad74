/**
 * Station identity: which names are stations of this deployment, one list for the replay, the stream and
 * the API. The canonical list is the 49 weatherAUS stations (fixed by the feature set) plus the live
 * stations configured for Open-Meteo ingestion (data/live-stations.json, OPEN_METEO_STATIONS_FILE).
 *
 * Policy: a name is a station only when it is on the list exactly as written. Anything else is rejected
 * with the reason, including a case variant (`sydney`): mapping it to `Sydney` would make two spellings
 * of one key in a stream keyed by name (a record's key and its value would disagree, and a replay of the
 * raw log would need the same mapping forever), so the reason names the station meant instead.
 */
import { readFileSync } from 'node:fs';
import { RainstreamError } from '../platform/errors.ts';
import { STATIONS } from './features/feature-set.ts';

/** The weatherAUS stations, in the order of their feature codes. */
export const WEATHER_AUS_STATIONS: readonly string[] = STATIONS;

/** What a station name may look like anywhere: safe as a Kafka key, a Redis key part and in SQL. */
export const STATION_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export interface StationIssue {
  field: 'location';
  reason: string;
}

export interface StationRegistry {
  /** Every station, sorted by name: what `/locations` lists and `/predict` serves. */
  readonly names: readonly string[];
  /** The live (Open-Meteo) stations among them. */
  readonly live: readonly string[];
  has(name: string): boolean;
  /** Null when `name` is a station; otherwise why not, naming the station meant when only the case differs. */
  check(name: unknown): StationIssue | null;
}

/** A value as a reason may quote it: JSON-quoted, cut to `max` characters so a reason stays short. */
export function quoted(value: unknown, max = 64): string {
  if (typeof value !== 'string') {
    if (value === undefined) return 'nothing';
    if (value === null) return 'null';
    return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  }
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/**
 * The registry of the weatherAUS stations and `live`. Live names must follow STATION_NAME_PATTERN and
 * collide with no other station even in case (producers/open-meteo/stations.ts refuses such a file).
 */
export function stationRegistry(live: readonly string[] = []): StationRegistry {
  const lower = new Map<string, string>();
  for (const name of [...WEATHER_AUS_STATIONS, ...live]) {
    if (!STATION_NAME_PATTERN.test(name)) {
      throw new RainstreamError('VALIDATION', `station name ${quoted(name)} is not a valid name`);
    }
    const other = lower.get(name.toLowerCase());
    if (other !== undefined && other !== name) {
      throw new RainstreamError(
        'VALIDATION',
        `station ${name} collides with ${other} (names differ in case only)`,
      );
    }
    lower.set(name.toLowerCase(), name);
  }
  const names = Object.freeze([...new Set(lower.values())].sort());
  const known = new Set(names);
  return {
    names,
    live: Object.freeze([...new Set(live)]),
    has: (name) => known.has(name),
    check(name) {
      if (typeof name === 'string' && known.has(name)) return null;
      if (typeof name !== 'string')
        return { field: 'location', reason: `must be a station name, got ${quoted(name)}` };
      const meant = name.length <= 64 ? lower.get(name.toLowerCase()) : undefined;
      if (meant !== undefined) {
        return {
          field: 'location',
          reason: `${quoted(name)} is not a station: names are case-sensitive, the station is ${JSON.stringify(meant)}`,
        };
      }
      return {
        field: 'location',
        reason: `${quoted(name)} is not a station of this deployment (${WEATHER_AUS_STATIONS.length} weatherAUS stations and ${live.length} live ones)`,
      };
    },
  };
}

const loaded = new Map<string, StationRegistry>();

/**
 * The registry of a deployment: the weatherAUS stations and the names in its live stations file. Read once
 * per file (every stage, the replay and the API ask for it); a file that cannot be read is a startup error.
 */
export function loadStationRegistry(liveStationsFile: string): StationRegistry {
  const cached = loaded.get(liveStationsFile);
  if (cached) return cached;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(liveStationsFile, 'utf8'));
  } catch (error) {
    throw new RainstreamError('VALIDATION', `cannot read the live stations file ${liveStationsFile}`, {
      cause: error,
      details: { file: liveStationsFile },
    });
  }
  const stations = (json as { stations?: unknown } | null)?.stations;
  if (!Array.isArray(stations) || stations.some((s) => typeof (s as { name?: unknown })?.name !== 'string')) {
    throw new RainstreamError('VALIDATION', `${liveStationsFile} has no list of stations with names`, {
      details: { file: liveStationsFile },
    });
  }
  const registry = stationRegistry(stations.map((s) => (s as { name: string }).name));
  loaded.set(liveStationsFile, registry);
  return registry;
}
