import { TypedError } from '../lib/platform/errors.ts';

/**
 * Request validation with the routes' zod schemas, worded for the caller: one `{ field, reason }` per
 * offending field, the reason readable without the schema ("must be <= 100", "is required", "is not an
 * accepted field"). Messages a schema sets itself (a pattern's meaning) win over these defaults. Pure
 * apart from Fastify's compiler signature, so each case is unit-tested without a server.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { quoted } from '../lib/domain/stations.ts';

export interface ValidationIssue {
  field: string;
  reason: string;
}

/**
 * The most issues a 400 lists. More than the fields of the widest schema (an observation, 23), so every
 * fault a client can make in the fields the API takes is shown; what is cut is a flood (thousands of unknown
 * query parameters or body fields), which would otherwise be answered with some 100 kB naming each one.
 */
export const MAX_ISSUES = 32;

/** A field name longer than this (only an unknown one can be) is quoted and cut, as a reason quotes a value. */
const FIELD_CHARS = 64;

const NOT_ACCEPTED = 'is not an accepted field';

type RawIssue = z.core.$ZodRawIssue;

function bound(iss: { origin?: unknown; inclusive?: boolean }, value: unknown, side: 'max' | 'min'): string {
  const n = String(value);
  switch (iss.origin) {
    case 'string':
      return side === 'max'
        ? `must be at most ${n} characters`
        : Number(value) === 1
          ? 'must not be empty'
          : `must be at least ${n} characters`;
    case 'array':
    case 'set':
      return side === 'max' ? `must have at most ${n} items` : `must have at least ${n} items`;
    default: {
      const op =
        side === 'max' ? (iss.inclusive === false ? '<' : '<=') : iss.inclusive === false ? '>' : '>=';
      return `must be ${op} ${n}`;
    }
  }
}

/** The API's wording of zod's issues (a per-parse error map: schema-level messages still win). */
export const apiErrorMap: z.core.$ZodErrorMap = (iss: RawIssue) => {
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined ? 'is required' : `must be ${iss.expected}`;
    case 'too_big':
      return bound(iss, iss.maximum, 'max');
    case 'too_small':
      return bound(iss, iss.minimum, 'min');
    case 'invalid_value':
      return `must be one of ${iss.values.map(String).join(', ')}`;
    case 'invalid_format':
      return `must be a ${iss.format}`;
    case 'unrecognized_keys':
      return NOT_ACCEPTED;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    default:
      return undefined;
  }
};

/**
 * One issue per field, in the order zod met them; `part` names the whole part ('body', 'querystring'). A
 * field name past FIELD_CHARS characters is given quoted and cut (`"abc…"… (5000 characters)`).
 */
export function validationIssues(issues: readonly z.core.$ZodIssue[], part: string): ValidationIssue[] {
  const seen = new Map<string, string>();
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const field = [...path, key].join('.');
        if (!seen.has(field)) seen.set(field, NOT_ACCEPTED);
      }
      continue;
    }
    const field = path.length === 0 ? part : path.join('.');
    if (!seen.has(field)) seen.set(field, issue.message);
  }
  return [...seen].map(([field, reason]) => ({
    field: field.length > FIELD_CHARS ? quoted(field, FIELD_CHARS) : field,
    reason,
  }));
}

/**
 * A query parameter given more than once reaches the schema as an array (Fastify's parser makes one),
 * which it refused as "must be string": the issue is reworded as what the client did. No query schema of
 * the API takes a list, so for each of them a repeat is a fault; one that took a list would accept the
 * array, and no issue would be there to reword. An unknown parameter is refused as such, given once or more.
 */
export function repeatedParameterIssues(
  issues: readonly ValidationIssue[],
  query: unknown,
): ValidationIssue[] {
  if (typeof query !== 'object' || query === null) return [...issues];
  return issues.map((issue) => {
    const value: unknown = Object.hasOwn(query, issue.field)
      ? (query as Record<string, unknown>)[issue.field]
      : undefined;
    return Array.isArray(value) && issue.reason !== NOT_ACCEPTED
      ? { field: issue.field, reason: `given ${value.length} times; give it once` }
      : issue;
  });
}

/**
 * Thrown by the validator; the app's error handler turns it into a 400 naming each field, the first
 * MAX_ISSUES of them, with the number of the others.
 */
export class RequestValidationError extends TypedError<'VALIDATION'> {
  readonly statusCode = 400;
  readonly issues: ValidationIssue[];
  /** How many issues beyond MAX_ISSUES are not listed. */
  readonly issuesLeftOut: number;
  constructor(issues: readonly ValidationIssue[]) {
    const listed = issues.slice(0, MAX_ISSUES);
    const leftOut = issues.length - listed.length;
    super(
      'VALIDATION',
      `invalid request: ${listed.map((i) => `${i.field} ${i.reason}`).join('; ')}` +
        (leftOut > 0 ? `; and ${leftOut} more` : ''),
    );
    this.issues = listed;
    this.issuesLeftOut = leftOut;
  }
}

/** Fastify's validator compiler for zod schemas, with the API's wording and the part named. */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = httpPart ?? 'request';
  return (data: unknown) => {
    const result = schema.safeParse(data, { error: apiErrorMap });
    if (result.success) return { value: result.data };
    const issues = validationIssues(result.error.issues, part);
    return {
      error: new RequestValidationError(
        part === 'querystring' ? repeatedParameterIssues(issues, data) : issues,
      ),
    };
  };
};
