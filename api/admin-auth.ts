/**
 * Bearer-token guard of the admin routes. The token is compared in constant time (both sides hashed to
 * 32 bytes first, so neither the content nor the length leaks through timing): 401 without a bearer
 * token, 403 with a wrong one, 503 when no ADMIN_TOKEN is configured (the admin API is disabled). The
 * header itself is never logged: the app's logger redacts it (see `REDACTED_PATHS`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export type TokenCheck = 'missing' | 'malformed' | 'wrong' | 'ok' | 'disabled';

/** Paths the API logger censors wherever a request or its headers are logged. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
];

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function checkBearer(header: string | undefined, expected: string | undefined): TokenCheck {
  if (expected === undefined) return 'disabled';
  if (header === undefined || header === '') return 'missing';
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header);
  if (!match) return 'malformed';
  return timingSafeEqual(digest(match[1]!), digest(expected)) ? 'ok' : 'wrong';
}

/** An onRequest hook of the admin routes. */
export function adminGuard(expected: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const check = checkBearer(request.headers.authorization, expected);
    if (check === 'ok') return;
    if (check === 'disabled') {
      return reply.code(503).send({ error: 'the admin API is disabled: ADMIN_TOKEN is not configured' });
    }
    request.log.warn({ route: request.routeOptions.url, ip: request.ip, check }, 'admin request refused');
    if (check === 'wrong')
      return reply
        .code(403)
        .send({ error: 'forbidden', field: 'authorization', reason: 'is not a valid admin token' });
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="rainstream-admin"')
      .send({
        error: 'unauthorized',
        field: 'authorization',
        reason: check === 'missing' ? 'is required: Bearer <ADMIN_TOKEN>' : 'must be Bearer <token>',
      });
  };
}
