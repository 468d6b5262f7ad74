/**
 * Where webhooks may go. A webhook URL names a host chosen by whoever subscribes, so without a policy the
 * alerts stage is a request forger aimed at the inside of the network (metadata services, admin ports).
 * The policy, configured by WEBHOOK_ALLOWED_HOSTS:
 * - the URL is http(s), without credentials, and its host is on the list: an exact name
 *   (`hooks.example.com`), a wildcard for subdomains (`*.example.com`), an IP or a CIDR;
 * - at delivery the name is resolved and EVERY address must be public, or covered by an IP/CIDR entry of
 *   the list: naming a loopback or private address there is how an operator allows one on purpose
 *   (tests allow `127.0.0.1`). The connection then goes to the address that was checked, never to a
 *   second resolution (no DNS rebinding between check and connect).
 * Pure except `resolveAllowed`, which takes its resolver as an argument.
 */
import { BlockList, isIP } from 'node:net';
import { TypedError, type TypedErrorOptions } from '../../lib/platform/errors.ts';

export interface AllowList {
  names: ReadonlySet<string>;
  /** `*.example.com` → `.example.com`. */
  suffixes: readonly string[];
  /** IPs and CIDRs an operator allowed explicitly (may be private). */
  addresses: BlockList;
  /** The entries as configured, for messages. */
  entries: readonly string[];
}

function family(ip: string): 'ipv4' | 'ipv6' {
  return isIP(ip) === 6 ? 'ipv6' : 'ipv4';
}

/** Addresses that are not the public internet: loopback, private, link-local, shared, reserved, documentation. */
const NOT_PUBLIC = (() => {
  const list = new BlockList();
  const v4: [string, number][] = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ];
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  const v6: [string, number][] = [
    ['::', 128],
    ['::1', 128],
    ['64:ff9b::', 96],
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ];
  // No rule for ::ffff:0:0/96: BlockList matches IPv4 addresses against it, which would block them all;
  // `addressAllowed` judges a mapped address by the IPv4 address it carries instead.
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

export class AllowListError extends TypedError<'WEBHOOK_NOT_ALLOWED'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('WEBHOOK_NOT_ALLOWED', message, options);
  }
}

/** Parses WEBHOOK_ALLOWED_HOSTS entries; throws on an entry that is none of name, wildcard, IP, CIDR. */
export function parseAllowList(entries: readonly string[]): AllowList {
  const names = new Set<string>();
  const suffixes: string[] = [];
  const addresses = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const cidr = /^([0-9a-f.:]+)\/(\d{1,3})$/.exec(entry);
    if (cidr && isIP(cidr[1]!) !== 0) {
      addresses.addSubnet(cidr[1]!, Number(cidr[2]), family(cidr[1]!));
    } else if (isIP(entry) !== 0) {
      addresses.addAddress(entry, family(entry));
      names.add(entry);
    } else if (/^\*\.[a-z0-9.-]+$/.test(entry)) {
      suffixes.push(entry.slice(1));
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
      names.add(entry);
    } else {
      throw new AllowListError(`WEBHOOK_ALLOWED_HOSTS: '${raw}' is not a host name, *.suffix, IP or CIDR`);
    }
  }
  return { names, suffixes, addresses, entries: [...entries] };
}

/** The host of a URL without IPv6 brackets, lower case. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function nameAllowed(list: AllowList, host: string): boolean {
  if (list.names.has(host)) return true;
  if (isIP(host) !== 0) return list.addresses.check(host, family(host));
  return list.suffixes.some((s) => host.endsWith(s) && host.length > s.length);
}

/** Why a webhook URL may not be used, or null when its form and host are allowed. */
export function webhookUrlProblem(list: AllowList, text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  const host = hostOf(url);
  if (!nameAllowed(list, host)) {
    return list.entries.length === 0
      ? 'cannot be used: no webhook host is allowed (WEBHOOK_ALLOWED_HOSTS is empty)'
      : `host ${host} is not on the webhook allow-list`;
  }
  return null;
}

/** Whether a resolved address may be connected to: public, or explicitly allowed. */
export function addressAllowed(list: AllowList, address: string): boolean {
  const f = family(address);
  if (list.addresses.check(address, f)) return true;
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return addressAllowed(list, mapped[1]!);
  return !NOT_PUBLIC.check(address, f);
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

/**
 * Resolves `host` and returns the first address to connect to, after checking every address it resolves
 * to (a name with one private address among public ones is refused whole: which one a client would pick
 * is not ours to guess).
 */
export async function resolveAllowed(
  list: AllowList,
  host: string,
  resolve: Resolver,
): Promise<{ address: string; family: 4 | 6 }> {
  const addresses = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : await resolve(host);
  if (addresses.length === 0) throw new AllowListError(`${host} resolves to no address`);
  for (const a of addresses) {
    if (!addressAllowed(list, a.address)) {
      throw new AllowListError(`${host} resolves to ${a.address}, which is not a public address nor allowed`);
    }
  }
  return { address: addresses[0]!.address, family: addresses[0]!.family === 6 ? 6 : 4 };
}
