/**
 * Security headers (helmet's set: CSP, HSTS, nosniff, frame and referrer policies, ...), computed once by
 * helmet itself and then set on every reply by a one-line hook. @fastify/helmet builds a new helmet
 * middleware, re-parsing every CSP directive, on each request: at serving rates that cost more than the
 * route itself. The headers here are static (no nonces), so computing them once gives the same bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/** The dashboard's policy: everything from this origin only; no inline script or style anywhere. */
export const CONTENT_SECURITY_POLICY: NonNullable<HelmetOptions['contentSecurityPolicy']> = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/** The headers helmet sets with `options`, lower-case names. */
export function securityHeaders(
  options: HelmetOptions = { contentSecurityPolicy: CONTENT_SECURITY_POLICY },
): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failed: unknown;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    failed = error;
  });
  if (failed) throw failed;
  return headers;
}

/**
 * The headers of a JSON or text answer (OWASP's REST set): no content may run or be framed, HTTPS
 * only, no sniffing, no referrer. Fewer bytes than the document set, on the answers that are most of
 * the traffic.
 */
export function apiSecurityHeaders(document = securityHeaders()): Record<string, string> {
  return {
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'strict-transport-security': document['strict-transport-security']!,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
  };
}

/** Routes that serve documents a browser renders (the dashboard, its assets, Swagger UI). */
export function servesDocuments(url: string): boolean {
  return url === '/' || url.startsWith('/assets/') || url === '/docs' || url.startsWith('/docs/');
}
