import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIVE_STATIONS_FILE } from '../../../../lib/platform/config.ts';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import {
  loadStationRegistry,
  quoted,
  stationRegistry,
  WEATHER_AUS_STATIONS,
} from '../../../../lib/domain/stations.ts';

describe('station registry', () => {
  it('holds the 49 weatherAUS stations and the live ones, sorted', () => {
    const registry = stationRegistry(['Marrakech']);
    expect(WEATHER_AUS_STATIONS).toHaveLength(49);
    expect(registry.names).toHaveLength(50);
    expect(registry.names).toEqual([...registry.names].sort());
    expect(registry.has('Marrakech') && registry.has('Sydney')).toBe(true);
    expect(registry.live).toEqual(['Marrakech']);
  });

  it('accepts exactly the names on the list', () => {
    const registry = stationRegistry();
    expect(registry.check('Sydney')).toBeNull();
    expect(registry.check('sydney')).toEqual({
      field: 'location',
      reason: '"sydney" is not a station: names are case-sensitive, the station is "Sydney"',
    });
    expect(registry.check('SYDNEY')!.reason).toMatch(/the station is "Sydney"/);
    expect(registry.check('Atlantis')!.reason).toBe(
      '"Atlantis" is not a station of this deployment (49 weatherAUS stations and 0 live ones)',
    );
    expect(registry.check(42)!.reason).toBe('must be a station name, got a number');
    expect(registry.check('Sydney ')).not.toBeNull();
  });

  it('refuses a live name that collides with another in case, or is not a name', () => {
    expect(() => stationRegistry(['sydney'])).toThrow(/collides with Sydney/);
    expect(() => stationRegistry(['New York'])).toThrow(RainstreamError);
  });

  it('reads the live stations of the shipped file', () => {
    expect(loadStationRegistry(DEFAULT_LIVE_STATIONS_FILE).live).toEqual(['Marrakech']);
  });

  it('says which file cannot be read or has no station list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stations-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"stations": [{"nom": "x"}]}');
    expect(() => loadStationRegistry(bad)).toThrow(/has no list of stations/);
    expect(() => loadStationRegistry(join(dir, 'absent.json'))).toThrow(/cannot read the live stations file/);
  });

  it('quotes values for reasons, cut short', () => {
    expect(quoted('Sydney')).toBe('"Sydney"');
    expect(quoted('x'.repeat(100), 4)).toBe('"xxxx"… (100 characters)');
    expect(quoted(undefined)).toBe('nothing');
    expect(quoted(null)).toBe('null');
    expect(quoted([1])).toBe('an array');
  });
});
