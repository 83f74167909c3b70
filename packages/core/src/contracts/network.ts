/**
 * Network contracts.
 *
 * - Zones (Proxmox SDN): a zone type turns its definition into bridges, VXLAN devices and the
 *   like on a node. Implemented by `plugin-network`.
 * - NICs: hypervisor drivers plug and unplug the host side of a guest NIC (a QEMU tap, an LXC
 *   veth) through {@link GuestNetworkAccess} (`ctx.network`), never touching bridges
 *   themselves. Core implements it for Linux bridges (Proxmox's `tap_plug`: MTU, VLAN on
 *   VLAN-filtering bridges, the `firewall=1` port bridge, `rate` with tc); plugins hook into it
 *   through {@link NicPlugHook}s (`extensionPoints.nicPlugHooks`): SDN resolves a vnet to its
 *   bridge, the firewall installs a port's rules.
 *
 * @packageDocumentation
 */
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { Logger } from '../util/Logger.js';

/** A zone definition as in Proxmox's `sdn/zones.cfg` (section config). */
export interface NetworkZoneDefinition {
  readonly id: string;
  /** Zone type id (`simple`, `vlan`, `vxlan`, `evpn`...). */
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
}

/** A subnet of a vnet as a zone driver sees it (`sdn/subnets.cfg`). */
export interface VnetSubnet {
  /** The network in CIDR notation (`10.0.0.0/24`). */
  readonly cidr: string;
  /** The gateway address inside it; layer-3 zones (`simple`) put `gateway/prefix` on the vnet's bridge. */
  readonly gateway?: string;
  /** Proxmox's `snat`: traffic from the subnet leaving the node is source-NATed to the node's address. */
  readonly snat?: boolean;
}

/** A virtual network (vnet) inside a zone (`sdn/vnets.cfg`). */
export interface VnetDefinition {
  readonly id: string;
  readonly zone: string;
  /** VLAN id or VXLAN VNI. */
  readonly tag?: number;
  readonly options: Readonly<Record<string, string>>;
  /** The vnet's subnets (from `sdn/subnets.cfg`); absent: none. */
  readonly subnets?: readonly VnetSubnet[];
}

/** What a zone driver gets with every call. */
export interface NetworkContext {
  readonly node: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Network namespace to operate in (tests); undefined = the host's. */
  readonly netns?: string;
  readonly signal?: AbortSignal;
}

/** The realised state of one vnet on this node. */
export interface VnetStatus {
  readonly vnet: string;
  /** The bridge guests attach to. */
  readonly bridge: string;
  readonly up: boolean;
}

/** A zone driver. Apply is idempotent: it converges the node to the definitions. */
export interface NetworkZoneDriver {
  /** Zone type id. */
  readonly type: string;
  /** Throws `InvalidConfigError` naming the option. */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void;
  /** Creates/updates devices for the zone's vnets; throws `NotSupportedError` when the kernel lacks a feature. */
  apply(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<VnetStatus[]>;
  /** Removes what `apply` created for the zone. */
  remove(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<void>;
  status(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): Promise<VnetStatus[]>;
}

/** Host side of a guest NIC: a QEMU tap (`tap<vmid>i<N>`) or an LXC veth (`veth<vmid>i<N>`). */
export type GuestNicKind = 'tap' | 'veth';

/**
 * One guest NIC as the host sees it, built by the hypervisor driver from a `netN` config
 * value. Field names follow Proxmox's `netN` properties.
 */
export interface GuestNic {
  readonly vmid: number;
  /** Config key (`net0`); errors name it. */
  readonly key: string;
  readonly kind: GuestNicKind;
  /** Host interface name (`tap100i0`, `veth100i0`); at most 15 characters. */
  readonly ifname: string;
  /** Bridge (or, with an SDN plugin, vnet) the NIC joins. */
  readonly bridge: string;
  /** The guest's MAC address (`BC:24:11:...`), for hooks (firewall MAC filters, IPAM). */
  readonly mac?: string;
  /** MTU of the host interface; default the bridge's. */
  readonly mtu?: number;
  /** VLAN tag (access port, 1..4094). Needs a VLAN-filtering bridge. */
  readonly tag?: number;
  /** Allowed VLANs (`10;20-30`, Proxmox's `trunks`). Needs a VLAN-filtering bridge. */
  readonly trunks?: string;
  /** Proxmox's `firewall=1`: the NIC gets a firewall port bridge (see {@link GuestNetworkAccess.plug}). */
  readonly firewall?: boolean;
  /** Rate limit in MB/s (Proxmox's `rate`, MiB/s), both directions; absent or 0: none. */
  readonly rate?: number;
  /**
   * Proxmox's `link_down=1`. A veth's host side is left down; a tap is brought up anyway (the
   * QEMU driver sets the guest link down through QMP).
   */
  readonly link_down?: boolean;
}

/**
 * The host ports of a plugged NIC, as {@link GuestNetworkAccess.plug} built them (names
 * follow Proxmox's `tap_plug`).
 */
export interface GuestNicPorts {
  /** The NIC's host interface (`tap100i0`). */
  readonly ifname: string;
  /** The bridge the guest's traffic reaches (the NIC's bridge as hooks resolved it). */
  readonly bridge: string;
  /** With `firewall=1`: the port bridge `fwbr<vmid>i<N>` holding the interface and `fwln`. */
  readonly firewallBridge?: string;
  /** With `firewall=1`: the veth end `fwln<vmid>i<N>` in the port bridge. */
  readonly firewallLink?: string;
  /** With `firewall=1`: the veth end `fwpr<vmid>p<N>` in the NIC's bridge (carries tag/trunks). */
  readonly firewallPeer?: string;
}

/**
 * NIC plugging as a hypervisor driver sees it (`ctx.network`): core's Linux-bridge plugger
 * wrapped in the hooks plugins registered. Every method runs under the guest lock the facade
 * holds; none writes the guest config.
 *
 * Errors (all name the NIC's config key): `NotFoundError` (kind `bridge`) for a bridge that
 * does not exist; `NotSupportedError` (operation `vlan`) for `tag`/`trunks` on a bridge that
 * does not filter VLANs (Proxmox would build a `vmbr0v<tag>` bridge on an 802.1q device, which
 * Corral leaves to SDN); `InvalidArgumentError` (argument = key) for a bad interface name, tag
 * or trunk list; `CommandFailedError` from `ip`, `bridge`, `tc`; whatever a hook throws.
 */
export interface GuestNetworkAccess {
  /**
   * Checks a NIC before the guest starts, changing nothing: its fields, that its bridge (as
   * hooks' `resolveBridge` name it) exists, and that the bridge filters VLANs when the NIC
   * has `tag`/`trunks`. Returns the bridge and its MTU (QEMU gives virtio NICs that MTU as
   * `host_mtu`). Errors as {@link GuestNetworkAccess.plug}.
   */
  check(nic: GuestNic): Promise<{ readonly bridge: string; readonly bridgeMtu: number }>;
  /**
   * Plugs the existing interface `nic.ifname` into its bridge: the bridge as hooks'
   * `resolveBridge` name it, hooks' `beforePlug` (in registration order; each may return a
   * changed NIC), then MTU (the NIC's, else the bridge's), IPv6 link-local off, bridge membership
   * and `up` (`ip link set <if> master <bridge> mtu <m> up`), VLANs with `bridge vlan` on a
   * VLAN-filtering bridge (Proxmox: all VLANs without a tag, `tag` as PVID untagged, `trunks`),
   * `firewall=1` as Proxmox's port: bridge `fwbr<vmid>i<N>` holding the interface and veth
   * `fwln<vmid>i<N>`, whose peer `fwpr<vmid>p<N>` joins the NIC's bridge (with the VLANs),
   * then `rate` as Proxmox's tc rate limit (htb egress + policed ingress, burst 1 MiB), then
   * hooks' `afterPlug`. Idempotent: plugging a plugged NIC again re-creates its port. On
   * failure everything done is undone (hooks' `afterUnplug` for hooks whose `beforePlug` ran)
   * and the error is rethrown.
   */
  plug(nic: GuestNic): Promise<GuestNicPorts>;
  /**
   * Takes the interface out of its bridge (when it still exists) and removes the firewall port
   * bridge and its veth: the bridge as hooks' `resolveBridge` name it, hooks' `beforeUnplug` (reverse order; may return a changed NIC), the
   * unplug, hooks' `afterUnplug` (reverse order). Does not delete the interface itself (QEMU
   * and LXC own it). Idempotent: nothing left is not an error. Failures of hooks'
   * `afterUnplug` become warnings in the task log.
   */
  unplug(nic: GuestNic): Promise<void>;
  /**
   * Applies live changes of a plugged NIC (same `key` and `ifname`): a changed `bridge`, `tag`,
   * `trunks` or `firewall` re-plugs it (`unplug(before)`, then `plug(after)`, as qemu-server
   * does; when `plug(after)` fails, `before` is plugged again, best effort, and the error rethrown); a changed `rate` only resets the tc limit; a changed `link_down` on a veth sets its
   * host side down or up. `InvalidArgumentError` when `key` or `ifname` differ.
   */
  update(before: GuestNic, after: GuestNic): Promise<void>;
}

/** What a {@link NicPlugHook} gets with every call. */
export interface NicHookContext {
  readonly node: string;
  readonly runner: CommandRunner;
  /** The task log of the guest operation. */
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/**
 * A hook around NIC plugging, registered with `env.extend(extensionPoints.nicPlugHooks, id,
 * hook)`. Hooks run in registration (plugin load) order before, in reverse order after an
 * unplug. Every member is optional. A hook must not touch the interface's bridge membership
 * (core owns it); it may create what the NIC's bridge needs (an SDN vnet) and rules for the
 * ports.
 */
export interface NicPlugHook {
  /**
   * The bridge a NIC's `bridge` value stands for (an SDN vnet's bridge), or nothing when this
   * hook does not know the name. No side effects: `check` calls it too. The first hook that
   * answers wins; core then plugs into (and checks) that bridge.
   */
  resolveBridge?(ctx: NicHookContext, nic: GuestNic): Promise<string | void>;
  /**
   * Before core plugs the NIC (its bridge already resolved): may create what the bridge needs
   * and return the NIC to plug instead (later hooks and core see the returned NIC). A throw
   * aborts the plug (earlier hooks get `afterUnplug`).
   */
  beforePlug?(ctx: NicHookContext, nic: GuestNic): Promise<GuestNic | void>;
  /** After the NIC is plugged: `ports` names the host ports (the firewall's per-port rules go here). */
  afterPlug?(ctx: NicHookContext, nic: GuestNic, ports: GuestNicPorts): Promise<void>;
  /** Before core unplugs the NIC (its bridge resolved, as for `beforePlug`); may return the NIC to unplug instead. */
  beforeUnplug?(ctx: NicHookContext, nic: GuestNic): Promise<GuestNic | void>;
  /**
   * After the NIC is unplugged, and to undo a plug that failed after this hook's `beforePlug`:
   * removes what the hook made for the NIC. Gets the NIC this hook's `beforePlug` or
   * `beforeUnplug` was given. Idempotent; a throw becomes a warning.
   */
  afterUnplug?(ctx: NicHookContext, nic: GuestNic): Promise<void>;
}
