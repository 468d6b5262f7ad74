import { describe, expect, it } from 'vitest';
import type { FetchFailure } from '../../../../producers/open-meteo/fetch-days.ts';
import {
  emptyStationReport,
  notAttempted,
  stoppingFailure,
} from '../../../../producers/open-meteo/ingest-days.ts';

const range = { from: '2024-02-01', to: '2024-02-29' };
const failed = (f: Partial<FetchFailure>): FetchFailure => ({
  station: 'Marrakech',
  from: '2024-01-01',
  to: '2024-01-31',
  code: 'UPSTREAM_UNAVAILABLE',
  retriable: true,
  reason: 'Open-Meteo HTTP 503: busy',
  ...f,
});

describe('stopping a run and the days it leaves', () => {
  it('stops after a 503 whose Retry-After went past the patience, saying the server asked to wait', () => {
    const report = emptyStationReport('Marrakech');
    report.failures.push(failed({ retryAfterMs: 3_600_000 }));
    const stop = stoppingFailure([report])!;
    expect(stop.retryAfterMs).toBe(3_600_000);
    // Owed still (retriable, so not in the DLQ), as after a 429.
    expect(notAttempted('Marrakech', range, stop)).toEqual({
      station: 'Marrakech',
      ...range,
      code: 'UPSTREAM_UNAVAILABLE',
      retriable: true,
      reason: 'not attempted: Open-Meteo asked to be called again later (Open-Meteo HTTP 503: busy)',
    });
    // A 503 without Retry-After is an outage, as before.
    expect(notAttempted('Marrakech', range, failed({})).reason).toBe(
      'not attempted: Open-Meteo did not answer an earlier call (Open-Meteo HTTP 503: busy)',
    );
  });
});
