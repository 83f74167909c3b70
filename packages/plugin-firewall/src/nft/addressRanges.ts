/**
 * Addresses of firewall rules and ipsets as nftables elements: single addresses, CIDRs and
 * `a-b` ranges, IPv4 and IPv6, and ipset `nomatch` entries resolved the way ipset resolves
 * them (the most specific entry covering an address decides).
 *
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidConfigError } from '@corral/core';
import type { NftExpression } from './nftJson.js';

/** An inclusive range of addresses of one family. */
export interface AddressRange {
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

const BITS = { 4: 32, 6: 128 } as const;

function ipToBigint(text: string, family: 4 | 6): bigint {
  if (family === 4) {
    const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
    return BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);
  }
  let head = text;
  let tail4: string | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail4 = text.slice(lastColon + 1);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const leftGroups = left ? left.split(':') : [];
  const rightGroups = right === undefined ? [] : right ? right.split(':') : [];
  const zeros = right === undefined ? [] : new Array<string>(8 - leftGroups.length - rightGroups.length).fill('0');
  let value = [...leftGroups, ...zeros, ...rightGroups].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tail4 !== undefined) value = (value & ~0xffffffffn) | ipToBigint(tail4, 4);
  return value;
}

/** Formats an address of `family` (IPv6 uncompressed, which nft reads). */
export function formatAddress(value: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  return groups.join(':');
}

function familyOf(text: string): 4 | 6 | undefined {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return undefined;
}

/**
 * Parses an address, a CIDR (`10.0.0.0/8`, `fd00::/64`) or a range (`10.0.0.1-10.0.0.9`).
 * Throws `InvalidConfigError` (key `key`) for anything else, host bits in a CIDR included
 * (as Proxmox refuses them).
 */
export function parseAddressRange(text: string, key: string): AddressRange {
  const bad = (why: string): never => {
    throw new InvalidConfigError(key, text, `${key}: '${text}' is not an IP address, CIDR or range: ${why}`);
  };
  const dash = text.indexOf('-');
  if (dash > 0) {
    const a = text.slice(0, dash);
    const b = text.slice(dash + 1);
    const fa = familyOf(a);
    const fb = familyOf(b);
    if (fa === undefined || fb === undefined || fa !== fb) return bad('a range needs two addresses of one family');
    const first = ipToBigint(a, fa);
    const last = ipToBigint(b, fb);
    if (last < first) return bad('the range ends before it starts');
    return { family: fa, first, last };
  }
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = familyOf(addr);
  if (family === undefined) return bad('no such address');
  const value = ipToBigint(addr, family);
  if (slash < 0) return { family, first: value, last: value };
  const lenText = text.slice(slash + 1);
  const len = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || len > BITS[family]) return bad(`prefix length must be 0..${BITS[family]}`);
  const hostBits = BigInt(BITS[family] - len);
  const hostMask = (1n << hostBits) - 1n;
  if ((value & hostMask) !== 0n) return bad('host bits are set');
  return { family, first: value, last: value | hostMask };
}

/**
 * The addresses an ipset matches, as disjoint sorted ranges per family. Entries prefixed
 * `!` are `nomatch` exceptions; as in ipset's `hash:net`, the most specific entry covering an
 * address decides, so `10.0.0.0/8`, `!10.1.0.0/16`, `10.1.2.0/24` matches 10.1.2.3 but not
 * 10.1.3.3.
 */
export function ipsetRanges(entries: readonly string[], key: string): { v4: AddressRange[]; v6: AddressRange[] } {
  const parsed = entries.map((raw) => {
    const nomatch = raw.startsWith('!');
    return { nomatch, range: parseAddressRange(nomatch ? raw.slice(1) : raw, key) };
  });
  const out = { v4: [] as AddressRange[], v6: [] as AddressRange[] };
  for (const family of [4, 6] as const) {
    // Broader entries first, so a more specific one overrides them where it lies.
    const mine = parsed
      .filter((p) => p.range.family === family)
      .sort((a, b) => {
        const sa = a.range.last - a.range.first;
        const sb = b.range.last - b.range.first;
        if (sa !== sb) return sa > sb ? -1 : 1;
        return Number(a.nomatch) - Number(b.nomatch);
      });
    let ranges: AddressRange[] = [];
    for (const p of mine) ranges = p.nomatch ? subtract(ranges, p.range) : union(ranges, p.range);
    out[family === 4 ? 'v4' : 'v6'] = ranges;
  }
  return out;
}

function union(ranges: readonly AddressRange[], r: AddressRange): AddressRange[] {
  const all = [...ranges, r].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddressRange[] = [];
  for (const x of all) {
    const prev = out[out.length - 1];
    if (prev && x.first <= prev.last + 1n) out[out.length - 1] = { ...prev, last: x.last > prev.last ? x.last : prev.last };
    else out.push(x);
  }
  return out;
}

function subtract(ranges: readonly AddressRange[], r: AddressRange): AddressRange[] {
  const out: AddressRange[] = [];
  for (const x of ranges) {
    if (x.last < r.first || x.first > r.last) {
      out.push(x);
      continue;
    }
    if (x.first < r.first) out.push({ ...x, last: r.first - 1n });
    if (x.last > r.last) out.push({ ...x, first: r.last + 1n });
  }
  return out;
}

/** One range as an nft element or match value: an address, a prefix, or a range. */
export function rangeExpression(r: AddressRange): NftExpression {
  if (r.first === r.last) return formatAddress(r.first, r.family);
  const size = r.last - r.first + 1n;
  const bits = size.toString(2).length - 1;
  if (size === 1n << BigInt(bits) && r.first % size === 0n) {
    return { prefix: { addr: formatAddress(r.first, r.family), len: BITS[r.family] - bits } };
  }
  return { range: [formatAddress(r.first, r.family), formatAddress(r.last, r.family)] };
}
