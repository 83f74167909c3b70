/**
 * Names of what the nftables backend installs: two tables called `corral` (families `inet`
 * and `bridge`), their base chains, dispatch maps and per-guest chains. One place, so the
 * compiler, the incremental path and the tests agree.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from '@corral/core';

/** Name of both tables (`inet corral`, `bridge corral`). */
export const TABLE = 'corral';

/** Bridge map: port name → mark (the port's id). Read back by the incremental path. */
export const PORT_IDS_MAP = 'port-ids';
/** Bridge verdict map: port name → jump to the port's source-check chain. */
export const PORT_CHECK_MAP = 'port-check';
/** Inet verdict map: mark of the port a packet came from → jump to that guest's OUT chain. */
export const GUEST_OUT_MAP = 'guest-out';
/** Inet verdict map: mark of the port a packet goes to → jump to that guest's IN chain. */
export const GUEST_IN_MAP = 'guest-in';
/** Inet chain that rejects as Proxmox's PVEFW-reject does (TCP reset, else ICMP unreachable). */
export const REJECT_CHAIN = 'reject-packet';

/** The IN or OUT chain of guest `vmid` (inet table). */
export function guestChain(vmid: number, dir: 'in' | 'out'): string {
  return `guest-${vmid}-${dir}`;
}

/** The source-check chain of bridge port `port` (bridge table: macfilter, ipfilter). */
export function portCheckChain(port: string): string {
  return `port-${port}`;
}

/** The chain of security group `name` for one direction (inet table). */
export function groupChain(name: string, dir: 'in' | 'out'): string {
  return `group-${name}-${dir}`;
}

/** The set of ipset `name` for one family (inet table); `/` of scoped names becomes `.`. */
export function ipsetSet(name: string, family: 4 | 6): string {
  return `ipset-${name.replaceAll('/', '.')}-v${family}`;
}

const PORT_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const IPSET_RE = /^(?:(?:dc|sdn)\/|guest\/(?:\d{1,9}\/)?)?[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Throws `InvalidConfigError` unless `port` is a valid interface name (1-15 bytes). */
export function checkPortName(port: string, key: string): void {
  if (!PORT_RE.test(port)) throw new InvalidConfigError(key, port, `${key}: '${port}' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`);
}

/** Throws `InvalidConfigError` unless `name` is a Proxmox security group name. */
export function checkGroupName(name: string, key: string): void {
  if (!NAME_RE.test(name)) throw new InvalidConfigError(key, name, `${key}: '${name}' is not a security group name ([A-Za-z][A-Za-z0-9_-]*)`);
}

/**
 * Throws `InvalidConfigError` unless `name` is a Proxmox ipset name, optionally scoped `dc/`,
 * `sdn/`, `guest/` or `guest/<vmid>/` (a guest's own ipset, as the resolver names them).
 */
export function checkIpsetName(name: string, key: string): void {
  if (!IPSET_RE.test(name)) throw new InvalidConfigError(key, name, `${key}: '${name}' is not an ipset name ([A-Za-z][A-Za-z0-9_-]*, optionally dc/ or guest/)`);
}
