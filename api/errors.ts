/**
 * An error a route or service can throw with the HTTP status it means. The app's error handler sends 4xx
 * messages (and the field at fault, when there is one) as they are, and hides 5xx ones behind a generic
 * text; those are logged in full.
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  /** The request field at fault, for a 400 about one field. */
  readonly field: string | undefined;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: { cause?: unknown; field?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.field = options.field;
  }
}
