import { describe, expect, it } from 'vitest';
import { checkBearer } from '../../../api/admin-auth.ts';
import { securityHeaders } from '../../../api/security-headers.ts';

describe('checkBearer', () => {
  const token = 'a-long-enough-admin-token';

  it('accepts the configured token only', () => {
    expect(checkBearer(`Bearer ${token}`, token)).toBe('ok');
    expect(checkBearer(`bearer ${token}`, token)).toBe('ok');
    expect(checkBearer(`Bearer ${token}x`, token)).toBe('wrong');
    expect(checkBearer('Bearer short', token)).toBe('wrong');
  });

  it('tells a missing or malformed header from a wrong token, and says when admin is disabled', () => {
    expect(checkBearer(undefined, token)).toBe('missing');
    expect(checkBearer('', token)).toBe('missing');
    expect(checkBearer(`Basic ${token}`, token)).toBe('malformed');
    expect(checkBearer('Bearer two words', token)).toBe('malformed');
    expect(checkBearer(`Bearer ${token}`, undefined)).toBe('disabled');
  });
});

describe('securityHeaders', () => {
  it("is helmet's set, with a CSP that allows nothing inline and nothing from elsewhere", () => {
    const h = securityHeaders();
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['strict-transport-security']).toMatch(/max-age=/);
    expect(h['x-frame-options']).toBe('SAMEORIGIN');
    const csp = h['content-security-policy']!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https:|\*/);
    expect(h['x-powered-by']).toBeUndefined();
  });
});

describe('apiSecurityHeaders and servesDocuments', () => {
  it('gives JSON answers a policy under which nothing runs or is framed', async () => {
    const { apiSecurityHeaders, servesDocuments } = await import('../../../api/security-headers.ts');
    const h = apiSecurityHeaders();
    expect(h['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(['/', '/assets/app.js', '/docs', '/docs/static/index.css'].every(servesDocuments)).toBe(true);
    expect(['/predict', '/metrics', '/documents', '/assets'].some(servesDocuments)).toBe(false);
  });
});
