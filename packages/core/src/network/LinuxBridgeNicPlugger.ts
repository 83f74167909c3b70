/**
 * Core's NIC plugger for Linux bridges: the port setup of Proxmox's `tap_plug` /
 * `tap_unplug` (pve-common `PVE::Network`), without policy. Used by every kernel through
 * `ctx.network`; plugins add behaviour with hooks, not by replacing it.
 *
 * @packageDocumentation
 */
import { readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestNic, GuestNicPorts, NicHookContext } from '../contracts/network.js';
import { CommandFailedError, InvalidArgumentError, NotFoundError, NotSupportedError } from '../errors.js';
import { checkInterfaceName, firewallPortNames } from './nicPortNames.js';
import { tcEgressLimitArgv, tcIngressLimitArgv, tcRateLimitClearArgv } from './tcRateLimit.js';

/** How long one `ip`/`bridge`/`tc` call may take, ms. */
const COMMAND_TIMEOUT_MS = 10_000;
/** At most this many `;`-separated entries in `trunks` (VLAN ids are 1-4094). */
const MAX_TRUNK_ENTRIES = 4094;
const VLAN_ID = /^[0-9]{1,4}$/;

/**
 * True when `trunks` is Proxmox's list of VLAN ids and ranges (`10;20-30`): each id from 1 to
 * 4094, each range ascending. Linear in the input; no backtracking.
 */
function isTrunkList(trunks: string): boolean {
  const entries = trunks.split(';', MAX_TRUNK_ENTRIES + 1);
  if (entries.length > MAX_TRUNK_ENTRIES) return false;
  const vlan = (text: string | undefined): number | undefined => {
    if (text === undefined || !VLAN_ID.test(text)) return undefined;
    const id = Number(text);
    return id >= 1 && id <= 4094 ? id : undefined;
  };
  return entries.every((entry) => {
    const [from, to, extra] = entry.split('-', 3);
    if (extra !== undefined) return false;
    const low = vlan(from);
    if (low === undefined) return false;
    if (to === undefined) return true;
    const high = vlan(to);
    return high !== undefined && high >= low;
  });
}

/** Options of {@link LinuxBridgeNicPlugger}. */
export interface LinuxBridgeNicPluggerOptions {
  /** Where interfaces are listed. Default `/sys/class/net` (tests point it at a copy). */
  readonly sysClassNet?: string;
  /** Where per-interface IPv6 switches are (`<dir>/ipv6/conf/<if>/disable_ipv6`). Default `/proc/sys/net`. */
  readonly procSysNet?: string;
}

/**
 * Plugs guest NIC interfaces into Linux bridges (see {@link GuestNetworkAccess} for the
 * contract; this class is its core step, without hooks). Reads bridge state from sysfs and
 * changes it with `ip`, `bridge` and `tc` through the context's command runner.
 */
export class LinuxBridgeNicPlugger {
  readonly #sys: string;
  readonly #procNet: string;

  constructor(options: LinuxBridgeNicPluggerOptions = {}) {
    this.#sys = options.sysClassNet ?? '/sys/class/net';
    this.#procNet = options.procSysNet ?? '/proc/sys/net';
  }

  /** Checks the NIC's fields. @throws InvalidArgumentError naming the key. */
  check(nic: GuestNic): void {
    const { key } = nic;
    checkInterfaceName(key, nic.ifname);
    checkInterfaceName(key, nic.bridge, 'bridge');
    if (nic.tag !== undefined && !(Number.isInteger(nic.tag) && nic.tag >= 1 && nic.tag <= 4094)) {
      throw new InvalidArgumentError(key, `${key}: VLAN tag ${nic.tag} is not an integer from 1 to 4094`);
    }
    if (nic.trunks !== undefined && !isTrunkList(nic.trunks)) throw new InvalidArgumentError(key, `${key}: trunks '${nic.trunks}' is not a list of VLAN ids 1-4094 and ascending ranges like 10;20-30`);
    if (nic.mtu !== undefined && !(Number.isInteger(nic.mtu) && nic.mtu >= 68 && nic.mtu <= 65535)) {
      throw new InvalidArgumentError(key, `${key}: MTU ${nic.mtu} is not an integer from 68 to 65535`);
    }
    if (nic.rate !== undefined && !(Number.isFinite(nic.rate) && nic.rate >= 0)) throw new InvalidArgumentError(key, `${key}: rate ${nic.rate} is not a number of MB/s`);
    if (nic.firewall) firewallPortNames(nic.vmid, key);
  }

  /**
   * Checks the host for `nic` without changing it: the bridge exists and, for `tag`/`trunks`,
   * filters VLANs. Returns the bridge's MTU (1500 when sysfs does not say).
   *
   * @throws NotFoundError (kind `bridge`), NotSupportedError (`vlan`), naming the key.
   */
  async checkHost(ctx: Pick<NicHookContext, 'node'>, nic: GuestNic): Promise<number> {
    this.check(nic);
    const { key, bridge } = nic;
    if (!(await this.#exists(join(bridge, 'bridge')))) throw new NotFoundError('bridge', bridge, `${key}: bridge '${bridge}' does not exist on node ${ctx.node}`);
    if (!(await this.#vlanFiltering(bridge)) && (nic.tag !== undefined || nic.trunks !== undefined)) {
      throw new NotSupportedError('vlan', `${key}: bridge '${bridge}' does not filter VLANs (vlan_filtering=0): cannot give ${nic.ifname} ${nic.tag !== undefined ? `VLAN tag ${nic.tag}` : `trunks ${nic.trunks}`}`);
    }
    const mtu = Number(await this.#read(join(bridge, 'mtu')));
    return Number.isInteger(mtu) && mtu > 0 ? mtu : 1500;
  }

  /**
   * Plugs `nic.ifname` into `nic.bridge` (see {@link GuestNetworkAccess.plug}, without the
   * hooks). On failure undoes what it did and rethrows.
   */
  async plug(ctx: NicHookContext, nic: GuestNic): Promise<GuestNicPorts> {
    const { key, bridge } = nic;
    const bridgeMtu = await this.checkHost(ctx, nic);
    if (!(await this.#exists(nic.ifname))) throw new NotFoundError('interface', nic.ifname, `${key}: interface '${nic.ifname}' does not exist (the guest's NIC was not created)`);
    const filtering = await this.#vlanFiltering(bridge);
    const mtu = nic.mtu ?? bridgeMtu;
    const up = !(nic.kind === 'veth' && nic.link_down);
    await this.#removeFirewallPort(ctx, nic);
    try {
      if (!nic.firewall) {
        await this.#join(ctx, nic.ifname, bridge, mtu, up);
        if (filtering) await this.#vlans(ctx, nic.ifname, nic);
        if (nic.rate) await this.setRate(ctx, nic);
        return { ifname: nic.ifname, bridge };
      }
      const fw = firewallPortNames(nic.vmid, key);
      const mtuArgs = ['mtu', String(mtu)];
      await this.#ip(ctx, ['ip', 'link', 'add', 'name', fw.bridge, ...mtuArgs, 'type', 'bridge']);
      await this.#ip(ctx, ['ip', 'link', 'set', 'dev', fw.bridge, 'up']);
      await this.#ip(ctx, ['ip', 'link', 'add', 'name', fw.link, ...mtuArgs, 'type', 'veth', 'peer', 'name', fw.peer, ...mtuArgs]);
      await this.#join(ctx, fw.peer, bridge, mtu, true);
      if (filtering) await this.#vlans(ctx, fw.peer, nic);
      await this.#join(ctx, fw.link, fw.bridge, mtu, true);
      await this.#join(ctx, nic.ifname, fw.bridge, mtu, up);
      if (nic.rate) await this.setRate(ctx, nic);
      return { ifname: nic.ifname, bridge, firewallBridge: fw.bridge, firewallLink: fw.link, firewallPeer: fw.peer };
    } catch (err) {
      await this.unplug(ctx, nic).catch((e: Error) => ctx.log.warn(`${key}: undoing the failed plug of ${nic.ifname}: ${e.message}`));
      throw err;
    }
  }

  /** Takes `nic.ifname` out of its bridge when it is in one and removes the firewall port. Idempotent. */
  async unplug(ctx: NicHookContext, nic: GuestNic): Promise<void> {
    checkInterfaceName(nic.key, nic.ifname);
    const master = await readlink(join(this.#sys, nic.ifname, 'master')).catch(() => undefined);
    if (master !== undefined) await this.#ip(ctx, ['ip', 'link', 'set', 'dev', nic.ifname, 'nomaster'], [0, 1]);
    await this.#removeFirewallPort(ctx, nic);
  }

  /**
   * Replaces the tc rate limit of `nic.ifname` by `nic.rate` (none when 0 or absent). The
   * ingress policer needs tc's `basic` classifier and `police` action: a kernel without them
   * gets the egress limit only and a warning naming the key.
   */
  async setRate(ctx: NicHookContext, nic: GuestNic): Promise<void> {
    checkInterfaceName(nic.key, nic.ifname);
    for (const argv of tcRateLimitClearArgv(nic.ifname)) await this.#ip(ctx, argv, [0, 1, 2, 255]);
    if (!nic.rate) return;
    for (const argv of tcEgressLimitArgv(nic.ifname, nic.rate)) await this.#ip(ctx, argv);
    const ingress = tcIngressLimitArgv(nic.ifname, nic.rate);
    await this.#ip(ctx, ingress[0]!);
    try {
      await this.#ip(ctx, ingress[1]!);
    } catch (err) {
      if (!(err instanceof CommandFailedError && /classifier not found|action module/i.test(err.stderr))) throw err;
      await this.#ip(ctx, ['tc', 'qdisc', 'del', 'dev', nic.ifname, 'ingress'], [0, 1, 2, 255]);
      ctx.log.warn(`${nic.key}: rate=${nic.rate}: traffic from the guest is not limited: this kernel has no tc 'basic' classifier or 'police' action (${err.stderr.trim()}); traffic to the guest is`);
    }
  }

  /** Sets the host side of `nic.ifname` up or down (a veth's `link_down`). */
  async setLink(ctx: NicHookContext, nic: GuestNic, up: boolean): Promise<void> {
    checkInterfaceName(nic.key, nic.ifname);
    await this.#ip(ctx, ['ip', 'link', 'set', 'dev', nic.ifname, up ? 'up' : 'down']);
  }

  async #join(ctx: NicHookContext, ifname: string, bridge: string, mtu: number, up: boolean): Promise<void> {
    await this.#disableIpv6(ifname);
    await this.#ip(ctx, ['ip', 'link', 'set', 'dev', ifname, 'master', bridge, 'mtu', String(mtu), up ? 'up' : 'down']);
  }

  /** Proxmox's VLANs of a port on a VLAN-filtering bridge: every VLAN without a tag, else the tag as PVID; trunks as given. */
  async #vlans(ctx: NicHookContext, port: string, nic: GuestNic): Promise<void> {
    await this.#ip(ctx, ['bridge', 'vlan', 'del', 'dev', port, 'vid', '1-4094']);
    if (nic.trunks !== undefined) {
      for (const range of nic.trunks.split(';')) await this.#ip(ctx, ['bridge', 'vlan', 'add', 'dev', port, 'vid', range]);
    } else if (nic.tag === undefined) {
      await this.#ip(ctx, ['bridge', 'vlan', 'add', 'dev', port, 'vid', '2-4094']);
    }
    await this.#ip(ctx, ['bridge', 'vlan', 'add', 'dev', port, 'vid', String(nic.tag ?? 1), 'pvid', 'untagged']);
  }

  async #removeFirewallPort(ctx: NicHookContext, nic: GuestNic): Promise<void> {
    let fw;
    try {
      fw = firewallPortNames(nic.vmid, nic.key);
    } catch {
      return; // names that cannot exist were never created
    }
    // Deleting one veth end removes its peer.
    if (await this.#exists(fw.link)) await this.#ip(ctx, ['ip', 'link', 'del', 'dev', fw.link], [0, 1, 2]);
    if (await this.#exists(fw.bridge)) await this.#ip(ctx, ['ip', 'link', 'del', 'dev', fw.bridge], [0, 1, 2]);
  }

  /** Turns off IPv6 on a bridge port (no link-local address), as Proxmox; absent switch: nothing. */
  async #disableIpv6(ifname: string): Promise<void> {
    const file = join(this.#procNet, 'ipv6', 'conf', ifname, 'disable_ipv6');
    if (await this.#existsAbsolute(file)) await writeFile(file, '1\n');
  }

  async #ip(ctx: NicHookContext, argv: readonly string[], okExitCodes?: readonly number[]): Promise<void> {
    await ctx.runner.run(argv, { signal: ctx.signal, timeoutMs: COMMAND_TIMEOUT_MS, okExitCodes });
  }

  #exists(rel: string): Promise<boolean> {
    return this.#existsAbsolute(join(this.#sys, rel));
  }

  async #existsAbsolute(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  }

  async #vlanFiltering(bridge: string): Promise<boolean> {
    return (await this.#read(join(bridge, 'bridge', 'vlan_filtering'))) === '1';
  }

  async #read(rel: string): Promise<string> {
    return (await readFile(join(this.#sys, rel), 'utf8').catch(() => '')).trim();
  }
}
