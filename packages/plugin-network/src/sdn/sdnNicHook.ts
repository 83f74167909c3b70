/**
 * Proxmox's `add_dhcp_mapping` at guest start as a NIC plug hook: before a NIC with a MAC is
 * plugged into a vnet of a zone with `dhcp`, the guest's address is taken from the IPAM (the
 * one its MAC has, else the first free one of the subnet's DHCP ranges) and written to the
 * zone's dnsmasq `ethers`, so the guest's DHCP client gets it.
 *
 * ```ts
 * const sdn = new SdnService(kernel.extensions(extensionPoints.networkZones), { dhcp: { ipam, server } });
 * env.extend(extensionPoints.nicPlugHooks, 'sdn-dhcp', createSdnNicHook({ service: sdn, config: () => readSdnConfig('/etc/pve/sdn') }));
 * ```
 *
 * @packageDocumentation
 */
import type { NicPlugHook } from '@corral/core';
import type { SdnConfig } from './sdnConfigFiles.js';
import type { SdnService } from './SdnService.js';

/** Options of {@link createSdnNicHook}. */
export interface SdnNicHookOptions {
  /** The SDN service with DHCP (its `addDhcpMapping`). */
  readonly service: SdnService;
  /**
   * The SDN config as it is now, read at every plug (e.g. `() => readSdnConfig('/etc/pve/sdn')`);
   * undefined: no SDN, every NIC passes unchanged.
   */
  readonly config: () => Promise<SdnConfig | undefined>;
}

/**
 * A hook whose `resolveBridge` names a vnet's bridge (named as the vnet) for a NIC whose
 * `bridge` is a vnet, and whose `beforePlug` maps the NIC's MAC to an address of its vnet's DHCP subnet (see
 * `SdnService.addDhcpMapping`); NICs without a MAC, on a bridge that is no vnet, or on a vnet
 * without DHCP pass unchanged. A full range aborts the plug (`ConflictError`).
 */
export function createSdnNicHook(options: SdnNicHookOptions): NicPlugHook {
  return {
    async resolveBridge(_ctx, nic) {
      const config = await options.config();
      if (config?.vnets.some((v) => v.id === nic.bridge)) return nic.bridge;
    },
    async beforePlug(ctx, nic) {
      if (!nic.mac) return;
      const config = await options.config();
      if (!config || !config.vnets.some((v) => v.id === nic.bridge)) return;
      const ip = await options.service.addDhcpMapping(config, nic.bridge, { mac: nic.mac, vmid: nic.vmid });
      if (ip) ctx.log.info(`${nic.key}: SDN DHCP address ${ip} for ${nic.mac} on vnet ${nic.bridge}`);
    },
  };
}
