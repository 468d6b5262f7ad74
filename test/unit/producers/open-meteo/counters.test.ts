import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../../lib/platform/metrics.ts';
import {
  createOpenMeteoCounters,
  diffCounters,
  OPEN_METEO_METRICS,
  recordOpenMeteoMetrics,
} from '../../../../producers/open-meteo/counters.ts';

describe('Open-Meteo counters as metrics', () => {
  it('take what one run added to a long-lived process', () => {
    const before = { ...createOpenMeteoCounters(), requests: 10, rateLimited: 1, daysMapped: 300 };
    const after = { ...before, requests: 13, rateLimited: 2, retries: 1, daysMapped: 302 };
    expect(diffCounters(before, after)).toEqual({
      ...createOpenMeteoCounters(),
      requests: 3,
      rateLimited: 1,
      retries: 1,
      daysMapped: 2,
    });
  });

  it('go to the metrics under Prometheus-style names, zeros left out', () => {
    const metrics = createMetrics();
    recordOpenMeteoMetrics(metrics, {
      ...createOpenMeteoCounters(),
      requests: 3,
      rateLimited: 1,
      apiErrors: 2,
    });
    recordOpenMeteoMetrics(metrics, { ...createOpenMeteoCounters(), requests: 2, daysRejected: 4 });
    expect(metrics.snapshot().counters).toEqual({
      open_meteo_calls_total: 5,
      open_meteo_rate_limited_total: 1,
      open_meteo_api_errors_total: 2,
      open_meteo_days_rejected_total: 4,
    });
  });

  it('name every counter, each once', () => {
    const names = Object.values(OPEN_METEO_METRICS);
    expect(Object.keys(OPEN_METEO_METRICS).sort()).toEqual(Object.keys(createOpenMeteoCounters()).sort());
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^open_meteo_[a-z_]+_total$/);
  });
});
