/**
 * The body of `POST /predict`: the one place it is defined, so that INPUT's domain validation
 * (lib/domain/weather/validation.ts) replaces it with a one-line swap of this export:
 *
 *   export { observationInputSchema as observationBodySchema } from '../lib/domain/weather/validation.ts';
 *
 * (whatever that module names its zod schema of an observation as a client sends it). Routes, OpenAPI
 * and the predict service read only `observationBodySchema` and `ObservationBody` from here.
 */
import { z } from 'zod';
import { COMPASS_POINTS, NUMERIC_FIELDS, type NumericField } from '../lib/domain/weather/observation.ts';
import { calendarDateSchema, locationSchema } from './schemas.ts';

/** A message for a wrong type only; other issues (bounds, missing) keep the API's default wording. */
function typeError(message: string) {
  return (issue: { code?: string; input?: unknown }) =>
    issue.code === 'invalid_type' && issue.input !== undefined ? message : undefined;
}

type NumericShape = { [K in NumericField]: z.ZodOptional<z.ZodNullable<z.ZodNumber>> };
const numericShape = Object.fromEntries(
  Object.entries(NUMERIC_FIELDS).map(([field, range]) => [
    field,
    z
      .number({ error: typeError('must be number or null') })
      .min(range.min)
      .max(range.max)
      .nullable()
      .optional()
      .describe(`${range.column}, ${range.min} to ${range.max}; null or absent when not observed`),
  ]),
) as unknown as NumericShape;

const compassSchema = z
  .enum(COMPASS_POINTS, { error: `must be one of ${COMPASS_POINTS.join(', ')} (or null)` })
  .nullable()
  .optional()
  .describe('a 16-point compass direction');

/**
 * An observation as `POST /predict` takes it: the fields of `Observation`, measurements optional (absent =
 * null = not observed), `source` optional. Unknown fields are refused rather than ignored, so a misspelt
 * `humidity3PM` is reported instead of silently becoming a missing reading.
 */
export const observationBodySchema = z
  .object({
    location: locationSchema,
    date: calendarDateSchema,
    ...numericShape,
    windGustDir: compassSchema,
    windDir9am: compassSchema,
    windDir3pm: compassSchema,
    rainToday: z
      .boolean({ error: typeError('must be boolean or null') })
      .nullable()
      .optional()
      .describe('rainfall > 1 mm on this day'),
    source: z.string().min(1).max(64).optional().describe("where the observation comes from; default 'api'"),
  })
  .strict();
export type ObservationBody = z.infer<typeof observationBodySchema>;
