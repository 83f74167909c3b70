/**
 * The SDN config as the node's config store holds it: Proxmox's `sdn/zones.cfg`,
 * `sdn/vnets.cfg` and `sdn/subnets.cfg` in the cluster config tree (`/etc/pve/sdn`).
 *
 * ```ts
 * const config = await readSdnConfigFromStore(kernel.config); // undefined: no SDN here
 * ```
 *
 * @packageDocumentation
 */
import type { ConfigStore } from '@corral/core';
import { parseSubnetsCfg, parseVnetsCfg, parseZonesCfg, type SdnConfig } from './sdnConfigFiles.js';

/** The directory of the SDN files in the config store (Proxmox's `/etc/pve/sdn`). */
export const SDN_CONFIG_DIR = 'sdn';

/**
 * Reads `zones.cfg`, `vnets.cfg` and `subnets.cfg` under `dir` of `store`; a missing file is
 * an empty one.
 *
 * @returns The config, or undefined when none of the three files exists (the node has no SDN).
 * @throws ParseError naming the file (`sdn/zones.cfg`...), line and option.
 */
export async function readSdnConfigFromStore(store: ConfigStore, dir: string = SDN_CONFIG_DIR): Promise<SdnConfig | undefined> {
  const paths = ['zones.cfg', 'vnets.cfg', 'subnets.cfg'].map((f) => `${dir}/${f}`);
  const [zones, vnets, subnets] = await Promise.all(paths.map((p) => store.read(p)));
  if (!zones && !vnets && !subnets) return undefined;
  return {
    zones: parseZonesCfg(zones?.content ?? '', paths[0]),
    vnets: parseVnetsCfg(vnets?.content ?? '', paths[1]),
    subnets: parseSubnetsCfg(subnets?.content ?? '', paths[2]),
  };
}
