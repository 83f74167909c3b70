/**
 * The document model of Proxmox's firewall files (`cluster.fw`, `host.fw`, `<vmid>.fw`): the
 * sections in file order, each with its lines in file order, every line keeping the text it
 * was read from so that {@link writeFwFile} gives back the same bytes. Entries built in code
 * (without `raw`) or changed after parsing are written in Proxmox's own spelling.
 *
 * @packageDocumentation
 */

import type { FirewallAction, FirewallLogLevel } from '@corral/core';

/**
 * Which file a document is: `cluster.fw`, `host.fw`, a guest's `<vmid>.fw`, or an SDN vnet's
 * `sdn/firewall/<vnet>.fw`.
 */
export type FwFileKind = 'cluster' | 'host' | 'vm' | 'vnet';

/** A log level as the files spell it: the syslog levels, and `nolog` (core's `FirewallLogLevel`). */
export type FwLogLevel = FirewallLogLevel;

/** Every {@link FwLogLevel}, most severe first. */
export const FW_LOG_LEVELS: readonly FwLogLevel[] = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'];

/** A rule's type: a direction, or `group` for a security group reference (`GROUP web -i net0`). */
export type FwRuleType = 'in' | 'out' | 'forward' | 'group';

/** What a matching packet gets: `ACCEPT`, `DROP`, `REJECT` (core's `FirewallAction`). */
export type FwVerdict = FirewallAction;

/**
 * One rule (`IN SSH(ACCEPT) -i net0 -source +trusted -log info # admins`), or a security group
 * reference (`GROUP webservers -i net0`). Values are kept as written (Proxmox compares macro,
 * ipset and alias names case-insensitively).
 */
export interface FwRule {
  /** False for a rule written with a leading `|`. */
  readonly enabled: boolean;
  readonly type: FwRuleType;
  /** `ACCEPT`, `DROP` or `REJECT`; for type `group`, the security group's name. */
  readonly action: string;
  /** Macro name (`SSH` of `SSH(ACCEPT)`), see `FW_MACROS`. */
  readonly macro?: string;
  /** Interface: `net0` in guest files, a host interface name in `cluster.fw` / `host.fw`. */
  readonly iface?: string;
  /** Address list, CIDR, range, `+ipset` or alias (with an optional `dc/` / `guest/` scope). */
  readonly source?: string;
  readonly dest?: string;
  /** Protocol name (`/etc/protocols`, plus `icmpv6`) or number. */
  readonly proto?: string;
  /** Ports, port ranges (`80:90`), service names, comma separated; an ICMP type where `proto` is ICMP. */
  readonly dport?: string;
  readonly sport?: string;
  /** ICMP or ICMPv6 type name (`-icmp-type echo-request`). */
  readonly icmpType?: string;
  readonly log?: FwLogLevel;
  /** The text after `#`, trimmed; `''` for a bare `#`. */
  readonly comment?: string;
}

/** A blank line (whitespace kept) or a whole-line `# comment` (leading whitespace kept). */
export interface FwTriviaLine {
  readonly type: 'blank' | 'comment';
  /** The line as written, without its newline. */
  readonly raw: string;
}

/** `name: value` of an `[OPTIONS]` section. */
export interface FwOptionLine {
  readonly type: 'option';
  /** The option's name in lower case (`policy_in`), see `fwOptionsFor`. */
  readonly name: string;
  /** The value as Proxmox stores it: policies upper case, log levels lower case, `''` for an unset log level. */
  readonly value: string;
  /** The line as read; absent on lines built in code. */
  readonly raw?: string;
}

/** A rule line of `[RULES]` or `[group name]`. */
export interface FwRuleLine {
  readonly type: 'rule';
  readonly rule: FwRule;
  readonly raw?: string;
}

/** An entry of `[IPSET name]`: `10.0.0.0/8`, `!10.1.0.0/16 # nomatch`, or an alias (`dc/office`). */
export interface FwIpsetEntryLine {
  readonly type: 'ipset-entry';
  /** Written with a leading `!`: an exception from the set. */
  readonly nomatch: boolean;
  /** An address or CIDR, or an alias name with an optional `dc/` / `guest/` scope. */
  readonly cidr: string;
  readonly comment?: string;
  readonly raw?: string;
}

/** An entry of `[ALIASES]`: `name address-or-cidr # comment`. */
export interface FwAliasLine {
  readonly type: 'alias';
  readonly name: string;
  readonly cidr: string;
  readonly comment?: string;
  readonly raw?: string;
}

/** Any line inside a section. */
export type FwLine = FwTriviaLine | FwOptionLine | FwRuleLine | FwIpsetEntryLine | FwAliasLine;

/** A section's kind, by its header (`[OPTIONS]`, `[RULES]`, `[ALIASES]`, `[IPSET name]`, `[group name]`). */
export type FwSectionType = 'options' | 'rules' | 'aliases' | 'ipset' | 'group';

/** One section: its header and the lines up to the next header. */
export interface FwSection {
  readonly type: FwSectionType;
  /** The ipset's or security group's name as written; absent for other sections. */
  readonly name?: string;
  /** The header's `# comment` (ipsets and groups only). */
  readonly comment?: string;
  /** The header line as read; absent on sections built in code. */
  readonly raw?: string;
  readonly lines: readonly FwLine[];
}

/** A parsed firewall file. */
export interface FwDocument {
  readonly kind: FwFileKind;
  /** Blank and comment lines before the first section. */
  readonly preamble: readonly FwTriviaLine[];
  readonly sections: readonly FwSection[];
  /** False when the file's last line has no newline (an empty file has none). */
  readonly finalNewline: boolean;
}

/** The sections each file kind may hold (Proxmox ignores the others). */
export const FW_SECTIONS_BY_KIND: Readonly<Record<FwFileKind, readonly FwSectionType[]>> = {
  cluster: ['options', 'rules', 'aliases', 'ipset', 'group'],
  host: ['options', 'rules'],
  vm: ['options', 'rules', 'aliases', 'ipset'],
  vnet: ['options', 'rules'],
};

/** How messages name a file kind: `cluster`, `host`, `guest`, `vnet`. */
export function fwKindName(kind: FwFileKind): string {
  return kind === 'vm' ? 'guest' : kind;
}
