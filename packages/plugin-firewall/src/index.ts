/**
 * @corral/plugin-firewall: Proxmox VE's firewall on nftables for Corral.
 *
 * @packageDocumentation
 */
export { firewallPlugin, createFirewallPlugin, type FirewallPluginOptions } from './firewallPlugin.js';
export { FirewallService, firewallServiceRef, firewallFilePaths, type FirewallServiceDeps, type FirewallCompileResult } from './service/FirewallService.js';
export { FirewallPlugError } from './service/FirewallPlugError.js';
export { firewallNicHook } from './service/firewallNicHook.js';
export { NftablesBackend, NFT_PROGRAM } from './nft/NftablesBackend.js';
export { compileRuleset, compileGuest, guestNics, removeTablesCommands, type CompileOptions, type CompiledRuleset, type GuestObjects } from './nft/compileRuleset.js';
export { ipsetRanges, parseAddressRange, formatAddress, rangeExpression, type AddressRange } from './nft/addressRanges.js';
export type { NftCommand, NftDocument, NftObject, NftTable, NftChain, NftRule, NftSet, NftElement, NftStatement, NftExpression, NftVerdict, NftFamily } from './nft/nftJson.js';
export type {
  FwDocument,
  FwFileKind,
  FwLogLevel,
  FwRule,
  FwRuleType,
  FwVerdict,
  FwLine,
  FwTriviaLine,
  FwOptionLine,
  FwRuleLine,
  FwIpsetEntryLine,
  FwAliasLine,
  FwSection,
  FwSectionType,
} from './fw/fwDocument.js';
export { FW_LOG_LEVELS, FW_SECTIONS_BY_KIND, fwKindName } from './fw/fwDocument.js';
export { FwParseError, type FwErrorKind } from './fw/FwParseError.js';
export { parseFwFile, FW_MAX_FILE_BYTES, FW_MAX_LINE_CHARS, type ParseFwFileOptions } from './fw/parseFwFile.js';
export { writeFwFile, formatFwRule, sameFwRule, type WriteFwFileOptions } from './fw/writeFwFile.js';
export { FW_MACROS, findFwMacro, expandFwMacro, type FwMacro, type FwMacroRule } from './fw/fwMacros.js';
export { FW_OPTIONS, fwOptionSpec, type FwOptionSpec, type FwOptionValueType } from './fw/fwOptions.js';
export { fwOptionValues, fwRules, fwIpsets, fwGroups, fwAliases, type FwIpsetValue, type FwIpsetEntryValue, type FwGroupValue, type FwAliasValue } from './fw/fwDocumentView.js';
export { checkFwRule, type FwRuleEnv, type FwLineProblem } from './fw/readRuleLine.js';
export { resolveFirewallRuleset, macToLinkLocal, type FirewallResolveInput, type FirewallGuestInput, type FirewallNicInput } from './resolve/resolveFirewallRuleset.js';
