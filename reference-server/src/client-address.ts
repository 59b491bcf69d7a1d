import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

export type TrustProxy = ReturnType<typeof proxyaddr.compile>;

/**
 * The address a request came from: the connection's peer, or, when that peer
 * is a trusted proxy, what its X-Forwarded-For says (Express's `req.ip`, by
 * the same rule and the same library, for requests that never reach Express:
 * WebSocket upgrades).
 */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  return proxyaddr(req, trust);
}

/**
 * What a per-address limit counts by: an IPv4 address, or an IPv6 address's
 * /64 (one subscriber's network: a host picks any address in it at will).
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}
