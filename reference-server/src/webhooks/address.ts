import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { BlockList, isIP } from 'node:net';

/** Where a request to the receiver must not go unless WEBHOOK_ALLOW_PRIVATE=1: this host, its networks, the cloud's metadata. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  // NAT64: reaches any IPv4 address, private ones included.
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, or ::ffff:xxxx:xxxx as URLs write it) as its IPv4 address. */
function unmapped(address: string): string {
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/i.exec(address)?.[1];
  if (mapped === undefined) return address;
  if (isIP(mapped) === 4) return mapped;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(mapped);
  if (!hex) return address;
  const n = (parseInt(hex[1] as string, 16) << 16) | parseInt(hex[2] as string, 16);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isPrivateAddress(address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  return family === 4 ? PRIVATE.check(plain, 'ipv4') : PRIVATE.check(plain, 'ipv6');
}

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/** Refuses the addresses when one is private (unless allowed); else the first, where the connection goes. */
function checkAll(host: string, addresses: Array<{ address: string; family: number }>, allowPrivate: boolean): CheckedAddress {
  if (addresses.length === 0) throw new Error(`${host} has no address`);
  if (!allowPrivate) {
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) {
      throw new PrivateAddressError(
        `${host} resolves to ${refused.address}, a loopback, private or link-local address: refused (WEBHOOK_ALLOW_PRIVATE=1 allows it)`,
      );
    }
  }
  const first = addresses[0] as { address: string; family: number };
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** The URL's host without the brackets of an IPv6 address. */
function bare(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/**
 * Resolves the receiver's host now, for this attempt, and checks every address it has: one private
 * address refuses them all (a name may answer a public and a private one, and the connection take either).
 */
export async function checkedAddress(hostname: string, allowPrivate: boolean): Promise<CheckedAddress> {
  const host = bare(hostname);
  return checkAll(host, await lookup(host, { all: true, verbatim: true }), allowPrivate);
}

/**
 * The check of a host that is an IP address, which no resolution can change: the same for every
 * attempt, so made once. Null when the host is a name; throws as checkedAddress does.
 */
export function checkedLiteral(hostname: string, allowPrivate: boolean): CheckedAddress | null {
  const host = bare(hostname);
  const family = isIP(host);
  return family === 0 ? null : checkAll(host, [{ address: host, family }], allowPrivate);
}

/** A `lookup` for http.request that answers the checked address: the connection goes where the check looked, with no second resolution. */
export function pinnedLookup(checked: CheckedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) (callback as (err: null, addresses: CheckedAddress[]) => void)(null, [checked]);
    else callback(null, checked.address, checked.family);
  };
}
