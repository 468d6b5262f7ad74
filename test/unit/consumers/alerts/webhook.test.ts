import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  deliveryIdOf,
  retriableStatus,
  signatureOf,
  verifySignature,
} from '../../../../consumers/alerts/webhook.ts';

describe('signatureOf / verifySignature', () => {
  const body = '{"type":"x"}';

  it('is HMAC-SHA256 of "<t>.<body>" (checked against Python hmac)', () => {
    expect(signatureOf('whsec-test', 1_700_000_000, body)).toBe(
      't=1700000000,v1=d884c2b65c86472f840b6500ec9c0e432f999f0a9c4e047383e9374a6515e5b0',
    );
  });

  it('verifies its own signature and refuses a changed body, key, or an old timestamp', () => {
    const header = signatureOf('k', 1000, body);
    expect(verifySignature('k', header, body, 1000)).toBe(true);
    expect(verifySignature('k', header, `${body} `, 1000)).toBe(false);
    expect(verifySignature('other', header, body, 1000)).toBe(false);
    expect(verifySignature('k', header, body, 1000 + 301)).toBe(false);
    expect(verifySignature('k', 'garbage', body, 1000)).toBe(false);
  });
});

describe('deliveryIdOf', () => {
  it('is stable per (subscription, event) and differs otherwise', () => {
    expect(deliveryIdOf('s1', 'forecast:Sydney:2017-01-01')).toBe(
      deliveryIdOf('s1', 'forecast:Sydney:2017-01-01'),
    );
    expect(deliveryIdOf('s1', 'forecast:Sydney:2017-01-01')).not.toBe(
      deliveryIdOf('s2', 'forecast:Sydney:2017-01-01'),
    );
    expect(deliveryIdOf('s1', 'a\nb')).not.toBe(deliveryIdOf('s1\na', 'b'));
  });
});

describe('backoffDelayMs', () => {
  it('doubles per attempt within [cap/2, cap), capped', () => {
    expect(backoffDelayMs(2, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelayMs(2, 500, 30_000, () => 0.999)).toBe(499);
    expect(backoffDelayMs(4, 500, 30_000, () => 0)).toBe(1000);
    expect(backoffDelayMs(20, 500, 30_000, () => 0.5)).toBe(22_500);
  });
});

describe('retriableStatus', () => {
  it('retries server errors, timeouts and rate limits, not other client errors', () => {
    expect([500, 502, 503, 408, 429].every(retriableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 301].some(retriableStatus)).toBe(false);
  });
});
