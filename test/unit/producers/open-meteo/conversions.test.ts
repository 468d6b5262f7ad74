import { describe, expect, it } from 'vitest';
import {
  cloudPercentToOktas,
  degreesToCompass,
  roundTo,
  secondsToHours,
  windDirection,
  windSpeedKmh,
} from '../../../../producers/open-meteo/conversions.ts';

describe('cloudPercentToOktas', () => {
  it('keeps 0 and 8 for a clear and a fully covered sky only', () => {
    expect(cloudPercentToOktas(0)).toBe(0);
    expect(cloudPercentToOktas(1)).toBe(1);
    expect(cloudPercentToOktas(5)).toBe(1);
    expect(cloudPercentToOktas(95)).toBe(7);
    expect(cloudPercentToOktas(99)).toBe(7);
    expect(cloudPercentToOktas(100)).toBe(8);
  });

  it('rounds to the nearest eighth, halves up', () => {
    expect(cloudPercentToOktas(18.74)).toBe(1);
    expect(cloudPercentToOktas(18.75)).toBe(2);
    expect(cloudPercentToOktas(50)).toBe(4);
    expect(cloudPercentToOktas(56.25)).toBe(5);
    expect(cloudPercentToOktas(81.24)).toBe(6);
    expect(cloudPercentToOktas(81.25)).toBe(7);
  });

  it('gives integers 0..8 over the whole range', () => {
    let previous = 0;
    for (let p = 0; p <= 100; p += 0.5) {
      const o = cloudPercentToOktas(p);
      expect(Number.isInteger(o) && o >= previous && o <= 8).toBe(true);
      previous = o;
    }
  });
});

describe('degreesToCompass', () => {
  it('maps the 16 points and wraps 360 to N', () => {
    expect(degreesToCompass(0)).toBe('N');
    expect(degreesToCompass(22.5)).toBe('NNE');
    expect(degreesToCompass(90)).toBe('E');
    expect(degreesToCompass(180)).toBe('S');
    expect(degreesToCompass(270)).toBe('W');
    expect(degreesToCompass(337.5)).toBe('NNW');
    expect(degreesToCompass(360)).toBe('N');
  });

  it('sends a sector boundary clockwise', () => {
    expect(degreesToCompass(11.24)).toBe('N');
    expect(degreesToCompass(11.25)).toBe('NNE');
    expect(degreesToCompass(348.74)).toBe('NNW');
    expect(degreesToCompass(348.75)).toBe('N');
  });
});

describe('wind', () => {
  it('rounds speeds to whole km/h and gives no direction for calm', () => {
    expect(windSpeedKmh(12.5)).toBe(13);
    expect(windSpeedKmh(0.4)).toBe(0);
    expect(windDirection(200, 0.4)).toBeNull();
    expect(windDirection(200, 0.5)).toBe('SSW');
    expect(windDirection(null, 10)).toBeNull();
    expect(windDirection(90, null)).toBeNull();
  });
});

describe('numbers', () => {
  it('rounds half away from zero without binary noise', () => {
    expect(roundTo(0.1 + 0.2, 1)).toBe(0.3);
    expect(roundTo(2.675, 2)).toBe(2.68);
    expect(roundTo(-2.25, 1)).toBe(-2.3);
    expect(Object.is(roundTo(-0.04, 1), 0)).toBe(true);
  });

  it('converts sunshine seconds to hours at 0.1 h', () => {
    expect(secondsToHours(0)).toBe(0);
    expect(secondsToHours(30_145.45)).toBe(8.4);
    expect(secondsToHours(86_400)).toBe(24);
  });
});
