import { STORABLE_DATES } from '../../lib/platform/config.ts';
import { stationRegistry } from '../../lib/domain/stations.ts';
import { observationRules, type ObservationRules } from '../../lib/domain/weather/validation.ts';

/** The clock of the rules tests use: 2026-12-01 noon UTC, so the horizon ends on 2026-12-03. */
export const TEST_NOW = Date.parse('2026-12-01T12:00:00Z');

/** Validation rules of a deployment with the weatherAUS stations and `live`, at TEST_NOW. */
export function testRules(live: readonly string[] = ['Marrakech'], now = TEST_NOW): ObservationRules {
  return observationRules({
    eventTime: { min: STORABLE_DATES.min, max: STORABLE_DATES.max, horizonDays: 2 },
    stations: stationRegistry(live),
    now,
  });
}
