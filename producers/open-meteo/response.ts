/**
 * The layout of an Open-Meteo answer (Open-Meteo's forecast API documentation): a JSON object with the grid cell,
 * `utc_offset_seconds`, `timezone`, and per section (`daily`, `hourly`) a `time` array plus one parallel
 * array per variable, values possibly null; units in `<section>_units`. An error is
 * `{"error": true, "reason": "..."}`. Parsing never throws: a body that is not this layout is a reason.
 */
import { z } from 'zod';
import {
  DAILY_VARIABLES,
  EXPECTED_UNITS,
  HOURLY_VARIABLES,
  type DailyVariable,
  type HourlyVariable,
} from './request.ts';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const HOUR_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

const values = z.array(z.number().nullable());

const section = (timeRe: RegExp, what: string) =>
  z.object({ time: z.array(z.string().regex(timeRe, what)) }).catchall(z.unknown());

const responseSchema = z.object({
  latitude: z.number(),
  longitude: z.number(),
  utc_offset_seconds: z
    .number()
    .int()
    .min(-18 * 3600)
    .max(18 * 3600),
  timezone: z.string(),
  daily_units: z.record(z.string(), z.string()),
  daily: section(DATE_RE, 'YYYY-MM-DD'),
  hourly_units: z.record(z.string(), z.string()),
  hourly: section(HOUR_RE, 'YYYY-MM-DDTHH:MM'),
});

export interface OpenMeteoResponse {
  latitude: number;
  longitude: number;
  utcOffsetSeconds: number;
  timezone: string;
  daily: { time: string[] } & Record<DailyVariable, (number | null)[]>;
  hourly: { time: string[] } & Record<HourlyVariable, (number | null)[]>;
}

export type ParsedBody =
  { ok: true; response: OpenMeteoResponse } | { ok: false; field: string; reason: string; apiError: boolean };

/** Longest reason we carry (DLQ headers and logs are bounded). */
export const MAX_REASON_CHARS = 1000;

export function boundReason(reason: string): string {
  return reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS - 1)}…`;
}

/** The reason of an Open-Meteo error body, or undefined when `json` is not one. */
export function apiErrorReason(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || (json as { error?: unknown }).error !== true) {
    return undefined;
  }
  const reason = (json as { reason?: unknown }).reason;
  return boundReason(typeof reason === 'string' ? reason : JSON.stringify(reason ?? null));
}

function parseSection<V extends string>(
  data: Record<string, unknown>,
  units: Record<string, string>,
  name: 'daily' | 'hourly',
  variables: readonly V[],
): { ok: true; columns: Record<V, (number | null)[]> } | { ok: false; field: string; reason: string } {
  const time = data.time as string[];
  const columns = {} as Record<V, (number | null)[]>;
  for (const variable of variables) {
    const column = values.safeParse(data[variable]);
    if (!column.success) {
      return {
        ok: false,
        field: `${name}.${variable}`,
        reason:
          data[variable] === undefined ? 'missing from the answer' : 'not an array of numbers and nulls',
      };
    }
    if (column.data.length !== time.length) {
      return {
        ok: false,
        field: `${name}.${variable}`,
        reason: `${column.data.length} values for ${time.length} times`,
      };
    }
    const unit = units[variable];
    const expected = EXPECTED_UNITS[variable as DailyVariable | HourlyVariable];
    if (unit !== expected) {
      return {
        ok: false,
        field: `${name}_units.${variable}`,
        reason: `unit ${JSON.stringify(unit ?? null)}, expected ${JSON.stringify(expected)}`,
      };
    }
    columns[variable] = column.data;
  }
  return { ok: true, columns };
}

/** Parses the text of an answer into the columns the mapping uses, or the first reason it cannot. */
export function parseOpenMeteoBody(body: string): ParsedBody {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, field: 'body', reason: `not JSON: ${(error as Error).message}`, apiError: false };
  }
  const apiError = apiErrorReason(json);
  if (apiError !== undefined) return { ok: false, field: 'error', reason: apiError, apiError: true };
  const parsed = responseSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      ok: false,
      field: issue.path.join('.') || 'body',
      reason: boundReason(issue.message),
      apiError: false,
    };
  }
  const r = parsed.data;
  const daily = parseSection(r.daily, r.daily_units, 'daily', DAILY_VARIABLES);
  if (!daily.ok) return { ...daily, apiError: false };
  const hourly = parseSection(r.hourly, r.hourly_units, 'hourly', HOURLY_VARIABLES);
  if (!hourly.ok) return { ...hourly, apiError: false };
  return {
    ok: true,
    response: {
      latitude: r.latitude,
      longitude: r.longitude,
      utcOffsetSeconds: r.utc_offset_seconds,
      timezone: r.timezone,
      daily: { time: r.daily.time, ...daily.columns },
      hourly: { time: r.hourly.time, ...hourly.columns },
    },
  };
}
