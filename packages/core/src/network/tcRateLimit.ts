/**
 * Proxmox's NIC rate limit (`rate` in MB/s) as tc commands, as pve-common's
 * `setup_tc_rate_limit` builds them: an htb class shaping what the host sends into the
 * interface (traffic to the guest) and a policer on its ingress (traffic from the guest),
 * both at `rate` MiB/s with a 1 MiB burst.
 *
 * @packageDocumentation
 */

/** Burst of both directions, bytes (pve-common's 1 MiB). */
const RATE_LIMIT_BURST_BYTES = 1024 * 1024;

/** Bytes per second of a Proxmox `rate` (MiB/s, fractions allowed). */
function rateBytesPerSecond(rateMiBps: number): number {
  return Math.floor(rateMiBps * 1024 * 1024);
}

/** Commands that remove an earlier limit from `ifname`; each may fail (nothing to remove). */
export function tcRateLimitClearArgv(ifname: string): string[][] {
  return [
    ['tc', 'class', 'del', 'dev', ifname, 'parent', '1:', 'classid', '1:1'],
    ['tc', 'filter', 'del', 'dev', ifname, 'parent', 'ffff:', 'protocol', 'all', 'pref', '50', 'u32'],
    ['tc', 'qdisc', 'del', 'dev', ifname, 'ingress'],
    ['tc', 'qdisc', 'del', 'dev', ifname, 'root'],
  ];
}

/** The shaping (egress) commands of a limit of `rateMiBps` on `ifname`. */
export function tcEgressLimitArgv(ifname: string, rateMiBps: number): string[][] {
  const rate = rateBytesPerSecond(rateMiBps);
  return [
    ['tc', 'qdisc', 'add', 'dev', ifname, 'root', 'handle', '1:', 'htb', 'default', '1'],
    ['tc', 'class', 'add', 'dev', ifname, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', `${rate}bps`, 'burst', `${RATE_LIMIT_BURST_BYTES}b`],
  ];
}

/** The policing (ingress) commands of a limit of `rateMiBps` on `ifname`. */
export function tcIngressLimitArgv(ifname: string, rateMiBps: number): string[][] {
  const rate = rateBytesPerSecond(rateMiBps);
  return [
    ['tc', 'qdisc', 'add', 'dev', ifname, 'handle', 'ffff:', 'ingress'],
    ['tc', 'filter', 'add', 'dev', ifname, 'parent', 'ffff:', 'prio', '50', 'basic', 'police', 'rate', `${rate}bps`, 'burst', `${RATE_LIMIT_BURST_BYTES}b`, 'mtu', '64kb', 'drop'],
  ];
}
