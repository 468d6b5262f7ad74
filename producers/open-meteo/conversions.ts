/**
 * Unit conversions from Open-Meteo's values to the weatherAUS columns, each rounded to the precision
 * the data set records (a model trained on the Bureau's numbers sees live numbers of the same grain).
 */
import { COMPASS_POINTS, type CompassPoint } from '../../lib/domain/weather/observation.ts';

/** Rounds to `decimals` places, half away from zero, without binary noise (0.1 + 0.2 -> 0.3). */
export function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  const r = (Math.sign(value) * Math.round(Math.abs(value) * factor + 1e-9)) / factor;
  return Object.is(r, -0) ? 0 : r;
}

/**
 * Cloud cover in percent to oktas (eighths of the sky), by the WMO rule for reporting: 0 only for a
 * sky without any cloud, 8 only for a sky fully covered, otherwise the nearest eighth (halves up),
 * kept within 1..7 (so 5% is 1 okta, not 0; 95% is 7, not 8). The Bureau's 9 (sky obscured) cannot
 * come from a model's cloud fraction.
 */
export function cloudPercentToOktas(percent: number): number {
  if (percent <= 0) return 0;
  if (percent >= 100) return 8;
  return Math.min(7, Math.max(1, Math.floor(percent / 12.5 + 0.5)));
}

/**
 * Degrees (0..360, the direction the wind comes from) to the nearest of the 16 compass points, each a
 * 22.5° sector centred on its point; a bearing on a sector boundary goes to the next point clockwise
 * (11.25° is NNE). 360 is N.
 */
export function degreesToCompass(degrees: number): CompassPoint {
  const sector = Math.floor(degrees / 22.5 + 0.5) % 16;
  return COMPASS_POINTS[sector]!;
}

/** The data set records wind speed in whole km/h; a speed that rounds to 0 is calm. */
export function windSpeedKmh(kmh: number): number {
  return roundTo(kmh, 0);
}

/**
 * Direction of a wind of `speedKmh`: none when calm. The data set never gives a direction for a calm
 * reading (all 8,745 rows with WindSpeed9am = 0 and all 1,112 with WindSpeed3pm = 0 have NA), and a
 * model's direction of a still air is noise.
 */
export function windDirection(degrees: number | null, speedKmh: number | null): CompassPoint | null {
  if (degrees === null || speedKmh === null || windSpeedKmh(speedKmh) === 0) return null;
  return degreesToCompass(degrees);
}

export function secondsToHours(seconds: number): number {
  return roundTo(seconds / 3600, 1);
}
