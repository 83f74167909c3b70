/**
 * @corral/plugin-firewall: Proxmox VE's firewall on nftables for Corral.
 *
 * @packageDocumentation
 */
export { firewallPlugin } from './firewallPlugin.js';
