import type { CsvRow } from '../../lib/domain/weather/csv.ts';
import type { Observation } from '../../lib/domain/weather/observation.ts';

export interface ReplayFilter {
  from?: string;
  to?: string;
  locations?: readonly string[];
  limit?: number;
}

export interface ReplayDay {
  date: string;
  observations: Observation[];
}

export interface ReplayPlan {
  days: ReplayDay[];
  rejected: Extract<CsvRow, { ok: false }>[];
  /** Valid rows outside the filter (date range, locations, limit). */
  skipped: number;
  events: number;
}

/**
 * Orders the file for replay: the weatherAUS file is grouped by station, a stream must be in event-time
 * order, so rows are sorted by date and grouped into days (stations in name order within a day, which makes
 * the replay deterministic). Invalid rows are kept aside for the DLQ, never dropped silently.
 */
export function planReplay(rows: readonly CsvRow[], filter: ReplayFilter = {}): ReplayPlan {
  const wanted = filter.locations && filter.locations.length > 0 ? new Set(filter.locations) : null;
  const rejected: Extract<CsvRow, { ok: false }>[] = [];
  const valid: Observation[] = [];
  let skipped = 0;
  for (const row of rows) {
    if (!row.ok) {
      rejected.push(row);
      continue;
    }
    const o = row.observation;
    if (
      (filter.from && o.date < filter.from) ||
      (filter.to && o.date > filter.to) ||
      (wanted && !wanted.has(o.location))
    ) {
      skipped++;
      continue;
    }
    valid.push(o);
  }
  valid.sort((a, b) =>
    a.date < b.date
      ? -1
      : a.date > b.date
        ? 1
        : a.location < b.location
          ? -1
          : a.location > b.location
            ? 1
            : 0,
  );
  const limit = filter.limit ?? Infinity;
  const days: ReplayDay[] = [];
  let events = 0;
  for (const o of valid) {
    if (events >= limit) {
      skipped++;
      continue;
    }
    const last = days[days.length - 1];
    if (last && last.date === o.date) last.observations.push(o);
    else days.push({ date: o.date, observations: [o] });
    events++;
  }
  return { days, rejected, skipped, events };
}
