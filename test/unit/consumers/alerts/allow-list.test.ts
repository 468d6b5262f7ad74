import { describe, expect, it } from 'vitest';
import {
  addressAllowed,
  AllowListError,
  parseAllowList,
  resolveAllowed,
  webhookUrlProblem,
} from '../../../../consumers/alerts/allow-list.ts';

describe('webhookUrlProblem', () => {
  const list = parseAllowList(['hooks.example.com', '*.alerts.example.org', '127.0.0.1', '10.1.0.0/16']);

  it('accepts listed names, subdomains of a wildcard, listed IPs and CIDRs', () => {
    expect(webhookUrlProblem(list, 'https://hooks.example.com/rain')).toBeNull();
    expect(webhookUrlProblem(list, 'https://a.b.alerts.example.org/x')).toBeNull();
    expect(webhookUrlProblem(list, 'http://127.0.0.1:8123/hook')).toBeNull();
    expect(webhookUrlProblem(list, 'http://10.1.2.3/hook')).toBeNull();
  });

  it('refuses other hosts, the wildcard apex, other schemes and credentials', () => {
    expect(webhookUrlProblem(list, 'https://evil.example.com/')).toMatch(/not on the webhook allow-list/);
    expect(webhookUrlProblem(list, 'https://alerts.example.org/')).toMatch(/not on the webhook allow-list/);
    expect(webhookUrlProblem(list, 'https://hooks.example.com.evil.net/')).toMatch(/not on/);
    expect(webhookUrlProblem(list, 'http://10.2.0.1/')).toMatch(/not on/);
    expect(webhookUrlProblem(list, 'http://169.254.169.254/latest/meta-data')).toMatch(/not on/);
    expect(webhookUrlProblem(list, 'file:///etc/passwd')).toMatch(/http or https/);
    expect(webhookUrlProblem(list, 'https://u:p@hooks.example.com/')).toMatch(/credentials/);
    expect(webhookUrlProblem(list, 'not a url')).toMatch(/not a URL/);
    expect(webhookUrlProblem(parseAllowList([]), 'https://hooks.example.com/')).toMatch(/empty/);
  });

  it('refuses an entry that is no host, IP or CIDR', () => {
    expect(() => parseAllowList(['https://x.com'])).toThrow(AllowListError);
  });
});

describe('addressAllowed', () => {
  const list = parseAllowList(['hooks.example.com', '127.0.0.1']);

  it('allows public addresses and explicitly listed private ones', () => {
    expect(addressAllowed(list, '93.184.216.34')).toBe(true);
    expect(addressAllowed(list, '2606:2800:220:1:248:1893:25c8:1946')).toBe(true);
    expect(addressAllowed(list, '127.0.0.1')).toBe(true);
  });

  it('refuses loopback, private, link-local, shared, multicast and mapped forms of them', () => {
    for (const a of [
      '127.0.0.2',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(addressAllowed(list, a), a).toBe(false);
    }
    expect(addressAllowed(list, '::ffff:127.0.0.1')).toBe(true);
  });
});

describe('resolveAllowed', () => {
  const list = parseAllowList(['hooks.example.com', 'rebind.example.com']);

  it('pins the first address when every address is allowed', async () => {
    const resolved = await resolveAllowed(list, 'hooks.example.com', async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '93.184.216.35', family: 4 },
    ]);
    expect(resolved).toEqual({ address: '93.184.216.34', family: 4 });
  });

  it('refuses a name with any internal address among its answers', async () => {
    await expect(
      resolveAllowed(list, 'rebind.example.com', async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]),
    ).rejects.toThrow(/127\.0\.0\.1/);
  });
});
