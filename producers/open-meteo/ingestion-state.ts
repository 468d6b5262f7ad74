/**
 * Which days of a live station are already on the observations topic, and what to do with a day mapped
 * again: the heart of "each (station, date) once on the topic". Pure; the shell (ingestion.ts) reads the
 * state from its compacted topic at start and writes it back in the same transaction as the days it adds.
 *
 * Per ingested day the state keeps a fingerprint of its values (the start of a SHA-256) and the offset
 * of its record on the observations topic: a day seen again with the same fingerprint is skipped
 * silently; with another one it is a conflict, and the offset finds the version already on the topic.
 * On the topic the dates are compact ranges, with fingerprints and offsets in date order beside them.
 */
import { createHash } from 'node:crypto';
import type { OpenMeteoIngestionState } from '../../lib/domain/events.ts';
import { addDays, daysBetween } from '../../lib/domain/time.ts';
import { DIRECTION_FIELDS, NUMERIC_FIELDS, type Observation } from '../../lib/domain/weather/observation.ts';
import { RainstreamError } from '../../lib/platform/errors.ts';
import type { DayRange } from './mapping.ts';

export interface IngestedDay {
  /** 16 hex digits: the first 8 bytes of the SHA-256 of the day's values. */
  fingerprint: string;
  /** Offset of the day's record on the observations topic, in `observationsPartition`. */
  offset: number;
}

export interface StationIngestionState {
  station: string;
  /** Partition of the observations topic the station's key lands on; -1 before its first day. */
  observationsPartition: number;
  /** By date. */
  days: ReadonlyMap<string, IngestedDay>;
}

export function emptyIngestionState(station: string): StationIngestionState {
  return { station, observationsPartition: -1, days: new Map() };
}

/** The fields that make a day's values, in a fixed order; not where it was read (`sourcePosition`). */
const VALUE_FIELDS = [
  'location',
  'date',
  ...Object.keys(NUMERIC_FIELDS),
  ...Object.keys(DIRECTION_FIELDS),
  'rainToday',
  'source',
] as const;

const FINGERPRINT_BYTES = 8;

export function fingerprintObservation(o: Observation): string {
  const record = o as unknown as Record<string, unknown>;
  const values = VALUE_FIELDS.map((field) => record[field] ?? null);
  return createHash('sha256')
    .update(JSON.stringify(values))
    .digest()
    .subarray(0, FINGERPRINT_BYTES)
    .toString('hex');
}

export interface Conflict {
  observation: Observation;
  existing: IngestedDay;
}

export interface JudgedDays {
  /** Days not on the topic yet, in the order given. */
  fresh: Observation[];
  /** Days on the topic with these very values: nothing to do. */
  identical: Observation[];
  /** Days on the topic with other values. */
  conflicts: Conflict[];
}

/** Sorts mapped days (one per date) into fresh, identical and conflicting against the state. */
export function judgeDays(state: StationIngestionState, observations: readonly Observation[]): JudgedDays {
  const judged: JudgedDays = { fresh: [], identical: [], conflicts: [] };
  for (const observation of observations) {
    if (observation.location !== state.station) {
      throw new RainstreamError(
        'INTERNAL',
        `state of ${state.station} asked about a day of ${observation.location}`,
      );
    }
    const existing = state.days.get(observation.date);
    if (existing === undefined) judged.fresh.push(observation);
    else if (existing.fingerprint === fingerprintObservation(observation)) judged.identical.push(observation);
    else judged.conflicts.push({ observation, existing });
  }
  return judged;
}

/** The state once `added` (days not in it yet) are on the topic in `partition`. */
export function withIngestedDays(
  state: StationIngestionState,
  partition: number,
  added: readonly ({ date: string } & IngestedDay)[],
): StationIngestionState {
  if (added.length === 0) return state;
  if (state.observationsPartition !== -1 && state.observationsPartition !== partition) {
    throw new RainstreamError(
      'INTERNAL',
      `${state.station}'s days are in partition ${state.observationsPartition}, not ${partition}`,
    );
  }
  const days = new Map(state.days);
  for (const { date, fingerprint, offset } of added) {
    if (days.has(date)) {
      throw new RainstreamError('INTERNAL', `(${state.station}, ${date}) is already ingested`);
    }
    days.set(date, { fingerprint, offset });
  }
  return { ...state, observationsPartition: partition, days };
}

export function lastIngestedDate(state: StationIngestionState): string | null {
  let last: string | null = null;
  for (const date of state.days.keys()) if (last === null || date > last) last = date;
  return last;
}

/** Sorted distinct dates as inclusive ranges of consecutive days. */
export function toDateRanges(sortedDates: readonly string[]): DayRange[] {
  const ranges: DayRange[] = [];
  for (const date of sortedDates) {
    const last = ranges[ranges.length - 1];
    if (last && addDays(last.to, 1) === date) last.to = date;
    else ranges.push({ from: date, to: date });
  }
  return ranges;
}

/**
 * The days of `from..to` not ingested yet, as ranges; ranges at most `mergeGapDays` ingested days apart
 * are merged into one (one call over a few known days costs less of the free tier than two calls).
 */
export function missingRanges(
  state: StationIngestionState,
  from: string,
  to: string,
  mergeGapDays = 0,
): DayRange[] {
  const missing: string[] = [];
  for (let d = from; daysBetween(d, to) >= 0; d = addDays(d, 1)) if (!state.days.has(d)) missing.push(d);
  const merged: DayRange[] = [];
  for (const range of toDateRanges(missing)) {
    const last = merged[merged.length - 1];
    if (last && daysBetween(last.to, range.from) - 1 <= mergeGapDays) last.to = range.to;
    else merged.push({ ...range });
  }
  return merged;
}

/** The state as its topic record: ranges, and fingerprints and offsets in date order. */
export function toStateRecord(state: StationIngestionState, updatedAt: number): OpenMeteoIngestionState {
  const dates = [...state.days.keys()].sort();
  const fingerprints = Buffer.alloc(dates.length * FINGERPRINT_BYTES);
  const offsets = new Array<number>(dates.length);
  dates.forEach((date, i) => {
    const day = state.days.get(date)!;
    fingerprints.write(day.fingerprint, i * FINGERPRINT_BYTES, FINGERPRINT_BYTES, 'hex');
    offsets[i] = day.offset;
  });
  return {
    station: state.station,
    observationsPartition: state.observationsPartition,
    ranges: toDateRanges(dates),
    fingerprints,
    offsets,
    updatedAt,
  };
}

/** Reads a state record back; one whose parts disagree is a DECODE error, never a guess. */
export function fromStateRecord(record: OpenMeteoIngestionState): StationIngestionState {
  const fail = (reason: string): never => {
    throw new RainstreamError('DECODE', `ingestion state of ${record.station}: ${reason}`, {
      details: { station: record.station },
    });
  };
  const dates: string[] = [];
  let previous: string | null = null;
  for (const range of record.ranges) {
    if (daysBetween(range.from, range.to) < 0) fail(`range ${range.from}..${range.to} runs backwards`);
    if (previous !== null && daysBetween(previous, range.from) < 2) {
      fail(`range ${range.from}..${range.to} is not after ${previous} with a gap`);
    }
    for (let d = range.from; daysBetween(d, range.to) >= 0; d = addDays(d, 1)) dates.push(d);
    previous = range.to;
  }
  if (
    record.fingerprints.length !== dates.length * FINGERPRINT_BYTES ||
    record.offsets.length !== dates.length
  ) {
    fail(
      `${dates.length} days but ${record.fingerprints.length} fingerprint bytes and ${record.offsets.length} offsets`,
    );
  }
  const days = new Map<string, IngestedDay>();
  dates.forEach((date, i) => {
    const start = i * FINGERPRINT_BYTES;
    days.set(date, {
      fingerprint: record.fingerprints.subarray(start, start + FINGERPRINT_BYTES).toString('hex'),
      offset: record.offsets[i]!,
    });
  });
  return { station: record.station, observationsPartition: record.observationsPartition, days };
}
