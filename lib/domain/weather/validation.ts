/**
 * The one validation of an observation, used wherever one enters or is read: the CSV edge (after its
 * cells are parsed as strict decimals), POST /predict, the Open-Meteo mapping, and every stage after Avro
 * decoding. `checkObservation` holds the rules for a typed Observation; `observationSchema` (zod) is the
 * same rules for a value of unknown shape. Every issue names the field and says why.
 *
 * Rules:
 * - location: a station of this deployment, exactly (lib/domain/stations.ts).
 * - date: a calendar day `YYYY-MM-DD`, inside the configured event-time range (by default what ClickHouse
 *   can store, lib/platform/config.ts STORABLE_DATES), and at most `horizonDays` after today (UTC) by the
 *   checker's clock. That horizon is taken from the clock rather than from the stream's own watermark: the
 *   data set itself has three silences of the whole stream (2011-04, 2012-12, 2013-02, 29 to 32 days), and
 *   a live feed has outages, so a record after a gap is legitimately far ahead of the stream's last day,
 *   whereas no station can observe a day that has not begun. A day past today + horizon never enters any
 *   state, watermark or table.
 * - measurements: null (not observed) or a finite number in the field's physical range; cloud cover in
 *   whole oktas 0..9; directions one of the 16 compass points; rainToday a boolean or null.
 * - cross-field rules, each broken by 0 of the data set's 145,460 rows (test/unit/.../validation.test.ts
 *   measures each on the whole file): see CROSS_FIELD_RULES.
 * - source: a short name (`weatherAUS`, `open-meteo`, `api`).
 */
import { z } from 'zod';
import type { EventTimeConfig } from '../../platform/config.ts';
import { quoted, type StationRegistry } from '../stations.ts';
import { addDays, daysBetween, isCalendarDate, utcDateOf } from '../time.ts';
import {
  COMPASS_POINTS,
  NUMERIC_FIELDS,
  SPEED_OF_DIRECTION,
  type NumericField,
  type Observation,
} from './observation.ts';

export type EventTimeRules = EventTimeConfig;

/** One broken rule: the field at fault (an Observation field name), why, and which rule. */
export interface ObservationIssue {
  field: string;
  reason: string;
  rule: RuleId;
}

export type RuleId =
  | 'type'
  | 'station'
  | 'date-format'
  | 'date-range'
  | 'date-horizon'
  | 'range'
  | 'whole-oktas'
  | 'compass'
  | 'source'
  | CrossFieldRuleId;

/** What a validation needs to know beyond the value: the event-time rules, the stations, the time now. */
export interface ObservationRules {
  readonly eventTime: EventTimeRules;
  readonly stations: StationRegistry;
  /** Today (UTC) by the checker's clock. */
  readonly today: string;
  /** The last day an event may carry: the earlier of eventTime.max and today + horizonDays. */
  readonly latest: string;
}

export function observationRules(o: {
  eventTime: EventTimeRules;
  stations: StationRegistry;
  /** Epoch ms of the checker's clock. */
  now: number;
}): ObservationRules {
  const today = utcDateOf(o.now);
  const ahead = addDays(today, o.eventTime.horizonDays);
  return {
    eventTime: o.eventTime,
    stations: o.stations,
    today,
    latest: ahead < o.eventTime.max ? ahead : o.eventTime.max,
  };
}

/**
 * The rules of the moment, made again only when the clock's UTC day changes: the stages check every
 * record, and the rules depend on the clock only through today's date.
 */
export function rulesOfTheDay(o: {
  eventTime: EventTimeRules;
  stations: StationRegistry;
  clock: () => number;
}): () => ObservationRules {
  let day = NaN;
  let rules: ObservationRules | null = null;
  return () => {
    const now = o.clock();
    const today = Math.floor(now / 86_400_000);
    if (rules === null || today !== day) {
      day = today;
      rules = observationRules({ eventTime: o.eventTime, stations: o.stations, now });
    }
    return rules;
  };
}

/** Null when `date` may be an event's day; otherwise why not. */
export function checkEventDate(date: unknown, rules: ObservationRules): ObservationIssue | null {
  if (!isCalendarDate(date)) {
    return {
      field: 'date',
      rule: 'date-format',
      reason: `${quoted(date)} is not a calendar date YYYY-MM-DD`,
    };
  }
  const { min, max, horizonDays } = rules.eventTime;
  if (date < min || date > max) {
    return {
      field: 'date',
      rule: 'date-range',
      reason: `${date} is outside the event-time range ${min} to ${max}`,
    };
  }
  if (date > rules.latest) {
    return {
      field: 'date',
      rule: 'date-horizon',
      reason: `${date} is ${daysBetween(rules.today, date)} days after today (${rules.today} UTC): at most ${horizonDays} allowed`,
    };
  }
  return null;
}

export type CrossFieldRuleId =
  | 'max-not-below-min'
  | 'rain-today-agrees'
  | 'rain-reported-together'
  | 'direction-needs-wind'
  | 'temp-not-above-max'
  | 'temp9am-not-below-min';

/** Degrees a 9am or 3pm reading may exceed the day's maximum (or fall below the night's minimum) by. */
export const TEMPERATURE_SLACK = 5;

type CrossFieldRule = (
  o: Pick<Observation, 'rainToday' | 'rainfall'> & Partial<Observation>,
) => ObservationIssue | null;

const rainReportedTogether: CrossFieldRule = (o) => {
  if ((o.rainToday === null) === (o.rainfall === null)) return null;
  return o.rainToday === null
    ? {
        field: 'rainToday',
        rule: 'rain-reported-together',
        reason: `is missing while rainfall is ${o.rainfall} mm (rainToday is rainfall > 1 mm)`,
      }
    : {
        field: 'rainfall',
        rule: 'rain-reported-together',
        reason: `is missing while rainToday is ${o.rainToday} (rainToday is rainfall > 1 mm)`,
      };
};

const rainTodayAgrees: CrossFieldRule = (o) =>
  o.rainToday !== null && o.rainfall !== null && o.rainToday !== o.rainfall > 1
    ? {
        field: 'rainToday',
        rule: 'rain-today-agrees',
        reason: `${o.rainToday} disagrees with rainfall ${o.rainfall} mm (rainToday is rainfall > 1 mm)`,
      }
    : null;

/**
 * Rules between fields, each with what the data set says (rows of 145,460 breaking it):
 * - max-not-below-min: MaxTemp >= MinTemp (0 rows).
 * - rain-today-agrees: RainToday is Yes exactly when Rainfall > 1 mm, the Bureau's definition (0 rows).
 *   RainToday of D+1 is D's label, so a disagreement would train on a wrong label.
 * - rain-reported-together: RainToday and Rainfall are both given or both missing (0 rows either way).
 * - direction-needs-wind: a wind direction comes with its speed, and the speed is above 0: a calm has no
 *   direction (0 rows for each of gust, 9am, 3pm).
 * - temp-not-above-max: Temp9am and Temp3pm at most TEMPERATURE_SLACK °C above MaxTemp (the data set's
 *   worst is 1.8 °C: different instruments and rounding; 39 rows exceed it by less than 2).
 * - temp9am-not-below-min: Temp9am at most TEMPERATURE_SLACK °C below MinTemp, the minimum of the 24 h
 *   ending at 9am (worst in the data set: 2.2 °C). Temp3pm has no such rule: a cold change can bring the
 *   afternoon below the night's minimum (1,216 rows, up to 8.8 °C).
 * Considered and left out because real rows break them: gust at least the 9am/3pm mean speed (5 rows),
 * a direction whenever the wind blows (54 rows at 9am, 63 gusts without direction).
 */
const CROSS_FIELD_RULES: readonly ((o: Observation) => ObservationIssue | null)[] = [
  (o) =>
    o.maxTemp !== null && o.minTemp !== null && o.maxTemp < o.minTemp
      ? {
          field: 'maxTemp',
          rule: 'max-not-below-min',
          reason: `maxTemp ${o.maxTemp} °C is below minTemp ${o.minTemp} °C`,
        }
      : null,
  rainReportedTogether,
  rainTodayAgrees,
  (o) => {
    for (const [direction, speedField] of Object.entries(SPEED_OF_DIRECTION)) {
      const dir = o[direction as keyof typeof SPEED_OF_DIRECTION];
      const speed = o[speedField];
      if (dir !== null && !(speed !== null && speed > 0)) {
        return {
          field: direction,
          rule: 'direction-needs-wind',
          reason: `${dir} given with ${speedField} ${speed === null ? 'missing' : `${speed} km/h`}: a calm has no direction`,
        };
      }
    }
    return null;
  },
  (o) => {
    if (o.maxTemp === null) return null;
    for (const field of ['temp9am', 'temp3pm'] as const) {
      const t = o[field];
      if (t !== null && t > o.maxTemp + TEMPERATURE_SLACK) {
        return {
          field,
          rule: 'temp-not-above-max',
          reason: `${t} °C is more than ${TEMPERATURE_SLACK} °C above maxTemp ${o.maxTemp} °C`,
        };
      }
    }
    return null;
  },
  (o) =>
    o.temp9am !== null && o.minTemp !== null && o.temp9am < o.minTemp - TEMPERATURE_SLACK
      ? {
          field: 'temp9am',
          rule: 'temp9am-not-below-min',
          reason: `${o.temp9am} °C is more than ${TEMPERATURE_SLACK} °C below minTemp ${o.minTemp} °C (the minimum of the 24 h to 9am)`,
        }
      : null,
];

/**
 * The rain rules alone (rain-reported-together, rain-today-agrees), for the derived events that carry an
 * observation's rainToday and rainfall (feature vectors, predictions): the label of the day before.
 */
export function checkRain(
  rainToday: boolean | null,
  rainfall: number | null,
): { field: string; reason: string } | null {
  if (rainfall !== null) {
    const range = checkMeasurement('rainfall', rainfall);
    if (range) return range;
  }
  if (rainToday !== null && typeof rainToday !== 'boolean') {
    return { field: 'rainToday', reason: `must be true, false or null, got ${describe(rainToday)}` };
  }
  const issue = rainReportedTogether({ rainToday, rainfall }) ?? rainTodayAgrees({ rainToday, rainfall });
  return issue && { field: issue.field, reason: issue.reason };
}

const NUMERIC = Object.entries(NUMERIC_FIELDS).map(([key, spec]) => ({
  key: key as NumericField,
  ...spec,
}));
const COMPASS = new Set<string>(COMPASS_POINTS);
const DIRECTIONS = Object.keys(SPEED_OF_DIRECTION) as (keyof typeof SPEED_OF_DIRECTION)[];
const SOURCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** Null when `value` may be the reading of `field`; otherwise why not. Used by the Open-Meteo mapping too. */
export function checkMeasurement(field: NumericField, value: unknown): ObservationIssue | null {
  if (value === null) return null;
  const spec = NUMERIC_FIELDS[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return { field, rule: 'type', reason: `must be a finite number or null, got ${describe(value)}` };
  }
  if (value < spec.min || value > spec.max) {
    return {
      field,
      rule: 'range',
      reason: `${value} ${spec.unit} is outside the physical range ${spec.min} to ${spec.max} ${spec.unit}`,
    };
  }
  if (spec.integer && !Number.isInteger(value)) {
    return { field, rule: 'whole-oktas', reason: `${value} is not a whole number of oktas (0 to 9)` };
  }
  return null;
}

/** The readings and the rules between them (no identity): what any source of measurements must satisfy. */
export function checkMeasurements(o: Observation): ObservationIssue[] {
  const issues: ObservationIssue[] = [];
  for (const f of NUMERIC) {
    const issue = checkMeasurement(f.key, o[f.key]);
    if (issue) issues.push(issue);
  }
  for (const d of DIRECTIONS) {
    const v = o[d];
    if (v !== null && !(typeof v === 'string' && COMPASS.has(v))) {
      issues.push({ field: d, rule: 'compass', reason: `${quoted(v)} is not a 16-point compass direction` });
    }
  }
  if (o.rainToday !== null && typeof o.rainToday !== 'boolean') {
    issues.push({
      field: 'rainToday',
      rule: 'type',
      reason: `must be true, false or null, got ${describe(o.rainToday)}`,
    });
  }
  // Cross-field rules read fields as numbers: only once each field is sound on its own.
  if (issues.length > 0) return issues;
  for (const rule of CROSS_FIELD_RULES) {
    const issue = rule(o);
    if (issue) issues.push(issue);
  }
  return issues;
}

/** Every broken rule of a typed observation, identity first; empty when it is valid. */
export function checkObservation(o: Observation, rules: ObservationRules): ObservationIssue[] {
  const issues: ObservationIssue[] = [];
  const station = rules.stations.check(o.location);
  if (station) issues.push({ ...station, rule: 'station' });
  const date = checkEventDate(o.date, rules);
  if (date) issues.push(date);
  if (typeof o.source !== 'string' || !SOURCE_PATTERN.test(o.source)) {
    issues.push({
      field: 'source',
      rule: 'source',
      reason: `${quoted(o.source)} is not a source name (a letter or digit, then letters, digits, . _ : -, at most 64)`,
    });
  }
  const measurements = checkMeasurements(o);
  return measurements.length === 0 ? issues : issues.concat(measurements);
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `the text ${quoted(value, 32)}`;
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

// ---- strict decimals (the CSV edge) ----

/**
 * A strict decimal as text: an optional minus, 1 to 6 ASCII digits, optionally a point and 1 to 6 digits,
 * and nothing else. Refused, though `Number()` would take them: `0x32`, `1e2`, `+5`, `.5`, `5.`, ` 5`,
 * `5 `, `1_000`, `Infinity`, and digits of other scripts. The data set's cells all fit (longest: 8
 * characters, `1009.555`).
 */
const DECIMAL = /^-?[0-9]{1,6}(?:\.[0-9]{1,6})?$/;

/** The number a strict decimal spells, or undefined when `text` is not one. `-0` reads as 0. */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return value === 0 ? 0 : value;
}

// ---- the same rules for a value of unknown shape (zod) ----

const nullableNumber = z.number().nullable();
const observationShape = z.strictObject({
  location: z.string(),
  date: z.string(),
  ...(Object.fromEntries(NUMERIC.map((f) => [f.key, nullableNumber])) as Record<
    NumericField,
    typeof nullableNumber
  >),
  windGustDir: z.enum(COMPASS_POINTS).nullable(),
  windDir9am: z.enum(COMPASS_POINTS).nullable(),
  windDir3pm: z.enum(COMPASS_POINTS).nullable(),
  rainToday: z.boolean().nullable(),
  source: z.string(),
});

/**
 * zod schema of an Observation under `rules`: the shape (every field present, of its type, nothing else),
 * then checkObservation. Parse errors carry the field as the issue path and the reason as the message.
 */
export function observationSchema(rules: ObservationRules) {
  return observationShape.superRefine((o, ctx) => {
    for (const issue of checkObservation(o as Observation, rules)) {
      ctx.addIssue({
        code: 'custom',
        path: [issue.field],
        message: issue.reason,
        params: { rule: issue.rule },
      });
    }
  });
}

export type ValidatedObservation =
  { ok: true; observation: Observation } | { ok: false; issues: { field: string; reason: string }[] };

/** Validates a value of unknown shape as an Observation: the value itself, or every issue by field. */
export function validateObservation(value: unknown, rules: ObservationRules): ValidatedObservation {
  const parsed = observationSchema(rules).safeParse(value);
  if (parsed.success) return { ok: true, observation: parsed.data as Observation };
  return {
    ok: false,
    issues: parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys'
        ? { field: i.keys.join(', '), reason: 'is not a field of an observation' }
        : { field: i.path.length > 0 ? i.path.join('.') : 'observation', reason: i.message },
    ),
  };
}

// ---- what the stages' steps return for a record they will not pass on ----

/**
 * A record a stage's pure step refuses, returned with its outputs (a step never throws on data): the shell
 * sends the record at index `at` of the batch it gave the step to the DLQ with these facts.
 */
export interface StepRejection {
  /** Index of the record in the step's input. */
  at: number;
  kind: 'invalid' | 'late' | 'conflict';
  /** The event field at fault (`date`, `humidity3pm`...). */
  field: string;
  reason: string;
  /** For a conflict: the version kept (JSON-able). */
  conflicting?: unknown;
}

/** The first issue, its reason naming the other fields at fault: one DLQ record says everything. */
export function firstIssue(issues: readonly { field: string; reason: string }[]): {
  field: string;
  reason: string;
} {
  const [first, ...rest] = issues;
  if (first === undefined) return { field: '', reason: 'invalid' };
  if (rest.length === 0) return { field: first.field, reason: first.reason };
  return {
    field: first.field,
    reason: `${first.reason} (and ${rest.length} more: ${rest.map((i) => i.field).join(', ')})`,
  };
}

/**
 * Null when a record's Kafka key is its event's station; otherwise why not. Every topic is keyed by
 * station so that a station's days stay on one partition, in order, with one stage instance holding its
 * state: a record keyed otherwise would be processed beside that state, not with it. `undefined` means
 * the caller has no key to check (a test, the API).
 */
export function checkKey(
  key: string | null | undefined,
  location: string,
): { field: string; reason: string } | null {
  if (key === undefined || key === location) return null;
  return {
    field: 'key',
    reason:
      key === null
        ? `the record has no key; it must be keyed by its station ${quoted(location)}`
        : `key ${quoted(key)} is not the record's station ${quoted(location)}`,
  };
}
