import { RainstreamError } from '../../lib/platform/errors.ts';
import type { StationRegistry } from '../../lib/domain/stations.ts';
import type { CsvRow, RejectedCsvRow } from '../../lib/domain/weather/csv.ts';
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

/** A row the replay does not send, with why: invalid, or a second, different version of a station's day. */
export type PlannedRejection = RejectedCsvRow & {
  kind: 'invalid' | 'conflict';
  /** For a conflict: the version that is sent (the first in the file), on its line. */
  conflictsWith?: { line: number; observation: Observation };
};

export interface ReplayPlan {
  days: ReplayDay[];
  rejected: PlannedRejection[];
  /** Valid rows outside the filter (date range, locations, limit). */
  skipped: number;
  /** Rows repeating an earlier row's station, day and values exactly: sent once, the repeat is a no-op. */
  duplicates: number;
  events: number;
}

type ValidRow = Extract<CsvRow, { ok: true }>;

/** Same station, day and readings. Key order is fixed (the CSV builds one literal), so JSON compares. */
function sameObservation(a: Observation, b: Observation): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Orders the file for replay: the weatherAUS file is grouped by station, a stream must be in event-time
 * order, so rows are sorted by date and grouped into days (stations in name order within a day, which makes
 * the replay deterministic). Invalid rows are kept aside for the DLQ, never dropped silently. A station's
 * day given twice is sent once: an exact repeat is counted as a duplicate, a repeat with other values is
 * a conflict, rejected with both versions (the first in the file is the one sent, as the stream keeps the
 * first version of a day). `stations`, when given, must know every name in `filter.locations`.
 */
export function planReplay(
  rows: readonly CsvRow[],
  filter: ReplayFilter = {},
  stations?: StationRegistry,
): ReplayPlan {
  if (stations && filter.locations) {
    const unknown = filter.locations.flatMap((l) => {
      const issue = stations.check(l);
      return issue ? [issue.reason] : [];
    });
    if (unknown.length > 0) {
      throw new RainstreamError('VALIDATION', `--locations: ${unknown.join('; ')}`, {
        details: { field: 'locations' },
      });
    }
  }
  const wanted = filter.locations && filter.locations.length > 0 ? new Set(filter.locations) : null;
  const rejected: PlannedRejection[] = [];
  const valid: ValidRow[] = [];
  const seen = new Map<string, ValidRow>();
  let skipped = 0;
  let duplicates = 0;
  for (const row of rows) {
    if (!row.ok) {
      rejected.push({ ...row, kind: 'invalid' });
      continue;
    }
    const o = row.observation;
    const key = `${o.location}\u0000${o.date}`;
    const first = seen.get(key);
    if (first) {
      if (sameObservation(first.observation, o)) duplicates++;
      else {
        rejected.push({
          ok: false,
          kind: 'conflict',
          line: row.line,
          raw: JSON.stringify(o),
          bytes: Buffer.from(JSON.stringify(o)),
          field: 'row',
          reason: `${o.location} ${o.date} is already on line ${first.line} with other values; the first version is kept`,
          conflictsWith: { line: first.line, observation: first.observation },
        });
      }
      continue;
    }
    seen.set(key, row);
    if (
      (filter.from && o.date < filter.from) ||
      (filter.to && o.date > filter.to) ||
      (wanted && !wanted.has(o.location))
    ) {
      skipped++;
      continue;
    }
    valid.push(row);
  }
  // By day, then stations in name order: bucketing by date and sorting each day's few stations costs a
  // fraction of one sort of the whole file by (date, location).
  const byDate = new Map<string, Observation[]>();
  for (const { observation: o } of valid) {
    const day = byDate.get(o.date);
    if (day) day.push(o);
    else byDate.set(o.date, [o]);
  }
  const dates = [...byDate.keys()].sort();
  const limit = filter.limit ?? Infinity;
  const days: ReplayDay[] = [];
  let events = 0;
  for (const date of dates) {
    const observations = byDate
      .get(date)!
      .sort((x, y) => (x.location < y.location ? -1 : x.location > y.location ? 1 : 0));
    const kept = observations.slice(0, Math.max(0, Math.min(observations.length, limit - events)));
    skipped += observations.length - kept.length;
    events += kept.length;
    if (kept.length > 0) days.push({ date, observations: kept });
  }
  return { days, rejected, skipped, duplicates, events };
}
