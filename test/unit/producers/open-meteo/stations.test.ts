import { describe, expect, it } from 'vitest';
import { isRainstreamError } from '../../../../lib/platform/errors.ts';
import { STATIONS } from '../../../../lib/domain/features/feature-set.ts';
import {
  loadLiveStations,
  parseLiveStations,
  selectStations,
} from '../../../../producers/open-meteo/stations.ts';

const marrakech = { name: 'Marrakech', latitude: 31.6295, longitude: -7.9811, timezone: 'Africa/Casablanca' };

function reasonOf(json: unknown): string {
  try {
    parseLiveStations(json);
  } catch (error) {
    expect(isRainstreamError(error, 'VALIDATION')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('live stations file', () => {
  it('loads the repository file with Marrakech first', async () => {
    const stations = await loadLiveStations(
      new URL('../../../../data/live-stations.json', import.meta.url).pathname,
    );
    expect(stations[0]).toEqual(marrakech);
    for (const s of stations)
      expect(STATIONS.map((n) => n.toLowerCase())).not.toContain(s.name.toLowerCase());
  });

  it('refuses a name of a weatherAUS station, in any case', () => {
    expect(reasonOf({ stations: [{ ...marrakech, name: 'Sydney' }] })).toMatch(
      /stations\.0\.name: Sydney collides with the weatherAUS station Sydney/,
    );
    expect(reasonOf({ stations: [marrakech, { ...marrakech, name: 'ALBURY' }] })).toMatch(
      /stations\.1\.name: ALBURY collides with the weatherAUS station Albury/,
    );
  });

  it('refuses a name twice, names the CSV edge would refuse, bad coordinates and unknown zones', () => {
    expect(reasonOf({ stations: [marrakech, { ...marrakech, name: 'marrakech' }] })).toMatch(
      /already stations\[0\]/,
    );
    expect(reasonOf({ stations: [{ ...marrakech, name: 'New York' }] })).toMatch(/stations\.0\.name/);
    expect(reasonOf({ stations: [{ ...marrakech, latitude: 91 }] })).toMatch(/stations\.0\.latitude/);
    expect(reasonOf({ stations: [{ ...marrakech, longitude: '-7.9' }] })).toMatch(/stations\.0\.longitude/);
    expect(reasonOf({ stations: [{ ...marrakech, timezone: 'Mars/Olympus_Mons' }] })).toMatch(
      /stations\.0\.timezone: not an IANA time zone/,
    );
    expect(reasonOf({ stations: [{ ...marrakech, elevation: 466 }] })).toMatch(/elevation/);
    expect(reasonOf({ stations: [] })).toMatch(/stations/);
    expect(reasonOf([marrakech])).toMatch(/\(root\)/);
  });

  it('names a file that is not JSON', async () => {
    await expect(loadLiveStations('stations.json', async () => '{"stations": [')).rejects.toThrow(
      /stations\.json is not JSON/,
    );
  });

  it('selects stations by name and refuses unknown ones', () => {
    const hobart = { name: 'HobartLive', latitude: -42.88, longitude: 147.33, timezone: 'Australia/Hobart' };
    expect(selectStations([marrakech, hobart], ['HobartLive'])).toEqual([hobart]);
    expect(() => selectStations([marrakech], ['Rabat'])).toThrow(/unknown live station\(s\): Rabat/);
  });
});
