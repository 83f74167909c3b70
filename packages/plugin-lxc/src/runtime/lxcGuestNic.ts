import { guestNicOptions, type GuestNic } from '@corral/core';
import { derivedMac, vethName } from '../config/buildLxcConfig.js';
import type { ContainerNet } from '../config/parseContainerConfig.js';

/**
 * The host side of a bridged container NIC as core's NIC plugging takes it: the veth LXC
 * creates (`lxc.net.N.veth.pair`, `veth<vmid>i<N>`) with the NIC's bridge, MAC, MTU, VLANs,
 * `firewall`, `rate` and `link_down`. Undefined for a NIC without a bridge (LXC leaves its host
 * end alone, as Proxmox does).
 */
export function lxcGuestNic(vmid: number, n: ContainerNet): GuestNic | undefined {
  const { net } = n;
  if (!net.bridge) return undefined;
  return {
    vmid,
    key: n.key,
    kind: 'veth',
    ifname: vethName(vmid, n.index),
    bridge: net.bridge,
    mac: net.hwaddr ?? derivedMac(vmid, n.index),
    mtu: net.mtu,
    ...guestNicOptions(net),
  };
}
