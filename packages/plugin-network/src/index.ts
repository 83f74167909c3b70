/**
 * @corral/plugin-network: host bridges, the NIC plug path and Proxmox SDN for Corral.
 *
 * @packageDocumentation
 */
export { networkPlugin } from './networkPlugin.js';
export * from './sdn/index.js';
