/**
 * @corral/plugin-firewall: Proxmox VE's firewall on nftables for Corral.
 *
 * @packageDocumentation
 */
export { firewallPlugin } from './firewallPlugin.js';
export { NftablesBackend, NFT_PROGRAM } from './nft/NftablesBackend.js';
export { compileRuleset, compileGuest, guestNics, removeTablesCommands, type CompileOptions, type CompiledRuleset, type GuestObjects } from './nft/compileRuleset.js';
export { ipsetRanges, parseAddressRange, formatAddress, rangeExpression, type AddressRange } from './nft/addressRanges.js';
export type { NftCommand, NftDocument, NftObject, NftTable, NftChain, NftRule, NftSet, NftElement, NftStatement, NftExpression, NftVerdict, NftFamily } from './nft/nftJson.js';
