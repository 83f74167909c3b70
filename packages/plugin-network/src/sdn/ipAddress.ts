/**
 * IPv4 and IPv6 addresses as numbers, for subnet membership, DHCP ranges and IPAM allocation.
 *
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';

/** An address as a number with its family. */
export interface IpNumber {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A network in CIDR notation, parsed. */
export interface IpNetwork {
  readonly family: 4 | 6;
  /** The address as written before the `/` (not necessarily the network address). */
  readonly address: string;
  readonly prefix: number;
  /** First address of the network (host bits cleared). */
  readonly first: bigint;
  /** Last address of the network. */
  readonly last: bigint;
}

/** The eight groups of an IPv6 address (no embedded IPv4 part), or `undefined`. */
function ipv6Groups(text: string): number[] | undefined {
  if (text.includes('.')) return undefined;
  const hex = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const parts = text.split('::');
  if (parts.length === 1) {
    const groups = hex(parts[0]!);
    return groups.length === 8 ? groups : undefined;
  }
  const left = hex(parts[0]!);
  const right = hex(parts[1]!);
  const fill = 8 - left.length - right.length;
  return fill < 1 ? undefined : [...left, ...new Array<number>(fill).fill(0), ...right];
}

/** Parses an IPv4 or IPv6 address (no prefix); `undefined` when it is neither. */
export function parseIp(text: string): IpNumber | undefined {
  if (isIPv4(text)) {
    return { family: 4, value: text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n) };
  }
  if (isIPv6(text) && !text.includes('%')) {
    const groups = ipv6Groups(text);
    if (!groups) return undefined;
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
  }
  return undefined;
}

/** Writes an address number back as text (IPv6 in full lower-case groups, `::` for the longest zero run). */
export function formatIp(ip: IpNumber): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt((7 - i) * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses `address/prefix`; `undefined` when it is not a valid IPv4 or IPv6 CIDR. */
export function parseCidr(text: string): IpNetwork | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 || !/^\d{1,3}$/.test(text.slice(slash + 1))) return undefined;
  const address = text.slice(0, slash);
  const ip = parseIp(address);
  const prefix = Number(text.slice(slash + 1));
  if (!ip) return undefined;
  const bits = ip.family === 4 ? 32 : 128;
  if (prefix > bits) return undefined;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const first = ip.value & ~hostMask;
  return { family: ip.family, address, prefix, first, last: first | hostMask };
}

/** True when `ip` lies inside `network` (same family). */
export function inNetwork(network: IpNetwork, ip: IpNumber): boolean {
  return ip.family === network.family && ip.value >= network.first && ip.value <= network.last;
}

/** The dotted netmask of an IPv4 prefix length (`24` → `255.255.255.0`). */
export function ipv4Netmask(prefix: number): string {
  const value = prefix === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n);
  return formatIp({ family: 4, value });
}
