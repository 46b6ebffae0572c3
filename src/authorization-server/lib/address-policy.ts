import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Which IP addresses an outbound fetch on a client's behalf (client ID metadata documents) may connect to:
 * public unicast only. The server must not become a proxy into its own network (SSRF, draft-ietf-oauth-
 * client-id-metadata-document §6 "Server Side Request Forgery"; RFC 9700 §4.17 on fetching URLs a client
 * names).
 */

/** IPv4 special-purpose blocks (RFC 6890 and its updates) that are not the public Internet. */
const IPV4_FORBIDDEN: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'shared address space (CGNAT, RFC 6598)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private (RFC 1918)'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private (RFC 1918)'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved or broadcast'],
];

/** IPv6 blocks inside global unicast (2000::/3) that are still not a public host. */
const IPV6_FORBIDDEN: ReadonlyArray<readonly [string, number, string]> = [
  ['2001::', 32, 'Teredo (hides an IPv4 address)'],
  ['2001:10::', 28, 'ORCHID'],
  ['2001:20::', 28, 'ORCHIDv2'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
];

const ipv4Reason = rules(IPV4_FORBIDDEN, 'ipv4');
const ipv6Rules = rules(IPV6_FORBIDDEN, 'ipv6');
const globalUnicast = new BlockList();
globalUnicast.addSubnet('2000::', 3, 'ipv6');

/**
 * Why `address` is not a public unicast address, or undefined when it is. IPv6 forms that carry an IPv4
 * address — IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (RFC 6052) and 6to4 `2002:AABB:CCDD::`
 * (RFC 3056) — are judged by the IPv4 address inside; everything outside 2000::/3 (loopback `::1`,
 * unspecified `::`, IPv4-compatible `::a.b.c.d`, unique-local fc00::/7, link-local fe80::/10, multicast
 * ff00::/8, local-use NAT64 64:ff9b:1::/48) is refused, as is an address with a zone index.
 *
 * @example
 * forbiddenReason('93.184.215.14'); // undefined
 * forbiddenReason('::ffff:127.0.0.1'); // 'loopback (IPv4-mapped)'
 */
export function forbiddenReason(address: string): string | undefined {
  if (isIPv4(address)) return ipv4Reason(address);
  if (!isIPv6(address) || address.includes('%')) return 'not an IP address';
  const bytes = ipv6Bytes(address);
  const embedded = embeddedIpv4(bytes);
  if (embedded) {
    const reason = ipv4Reason(embedded.address);
    return reason === undefined ? undefined : `${reason} (${embedded.form})`;
  }
  if (!globalUnicast.check(address, 'ipv6')) return 'not global unicast IPv6 (loopback, unspecified, unique-local, link-local, multicast or reserved)';
  return ipv6Rules(address);
}

function rules(table: ReadonlyArray<readonly [string, number, string]>, family: 'ipv4' | 'ipv6'): (address: string) => string | undefined {
  const lists = table.map(([network, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return [list, reason] as const;
  });
  return (address) => lists.find(([list]) => list.check(address, family))?.[1];
}

/** The IPv4 address an IPv6 address carries, for the three forms that route to it. */
function embeddedIpv4(bytes: Uint8Array): { address: string; form: string } | undefined {
  const zero = (from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
  const v4 = (at: number) => `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return { address: v4(12), form: 'IPv4-mapped' };
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zero(4, 12)) return { address: v4(12), form: 'NAT64' };
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return { address: v4(2), form: '6to4' };
  return undefined;
}

/** The 16 bytes of a valid IPv6 address (`::` compression and a trailing dotted quad included). */
function ipv6Bytes(address: string): Uint8Array {
  let text = address.toLowerCase();
  const groups: number[] = [];
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (quad) {
    const parts = quad[1]!.split('.').map(Number);
    tail = [(parts[0]! << 8) | parts[1]!, (parts[2]! << 8) | parts[3]!];
    text = text.slice(0, -quad[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').filter((g) => g !== '').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = [...parse(rest), ...tail];
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  groups.push(...left, ...new Array<number>(fill).fill(0), ...right);
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}
