import { guestNicOptions, type GuestNic } from '@corral/core';
import { tapName } from '../cmdline/QemuDevices.js';
import type { QemuNetSpec } from '../config/QemuConfig.js';

/**
 * The host side of a bridged VM NIC as core's NIC plugging takes it: the tap QEMU creates
 * (`tap<vmid>i<N>`) with the NIC's bridge, MAC, VLANs, `firewall`, `rate` and `link_down`.
 * The tap gets its bridge's MTU, as qemu-server's taps do (the NIC's `mtu` is what the guest
 * is told, `host_mtu`). Undefined for a NIC without a bridge (QEMU user networking).
 */
export function qemuGuestNic(vmid: number, spec: QemuNetSpec): GuestNic | undefined {
  const n = spec.net;
  if (n.bridge === undefined) return undefined;
  return {
    vmid,
    key: spec.key,
    kind: 'tap',
    ifname: tapName(vmid, spec.index),
    bridge: n.bridge,
    mac: spec.mac,
    ...guestNicOptions(n),
  };
}
