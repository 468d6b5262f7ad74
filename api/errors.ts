import { TypedError } from '../lib/platform/errors.ts';

/**
 * An error a route or service can throw with the HTTP status it means. The app's error handler sends 4xx
 * messages (and the field at fault, when there is one) as they are, and hides 5xx ones behind a generic
 * text; those are logged in full.
 */
export class ApiError extends TypedError {
  readonly statusCode: number;
  /** The request field at fault, for a 400 about one field. */
  readonly field: string | undefined;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: { cause?: unknown; field?: string } = {},
  ) {
    // A client may try a 503 (a store away) or a 429 again; a 4xx about the request itself, never.
    super(code, message, { cause: options.cause, retriable: statusCode === 503 || statusCode === 429 });
    this.statusCode = statusCode;
    this.field = options.field;
  }
}
