/**
 * Firewall-backend contract: Proxmox-style rules (`cluster.fw`, `host.fw`, `<vmid>.fw`)
 * compiled by a backend (nftables) and applied atomically. Implemented by `plugin-firewall`.
 *
 * @packageDocumentation
 */
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { Logger } from '../util/Logger.js';

/** Direction of a rule. */
export type FirewallDirection = 'in' | 'out' | 'forward';
/** What happens to a matching packet. */
export type FirewallAction = 'ACCEPT' | 'DROP' | 'REJECT';
/**
 * A log level as Proxmox's `.fw` files spell it (syslog levels, plus `nolog`). A backend logs
 * through nflog and carries the level in the log prefix.
 */
export type FirewallLogLevel = 'nolog' | 'emerg' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug';

/** One rule as in a Proxmox `.fw` file (`IN ACCEPT -p tcp -dport 22 -source +trusted`). */
export interface FirewallRule {
  readonly direction: FirewallDirection;
  /** An action, or a security group name when `group` is set. */
  readonly action: FirewallAction | string;
  readonly enabled: boolean;
  readonly source?: string;
  readonly dest?: string;
  readonly proto?: string;
  readonly sport?: string;
  readonly dport?: string;
  /** Interface (`net0`) for guest rules. */
  readonly iface?: string;
  readonly macro?: string;
  readonly log?: FirewallLogLevel;
  readonly comment?: string;
  /** True when `action` names a security group. */
  readonly group?: boolean;
  /** ICMP / ICMPv6 type name or number (`-icmp-type echo-request`), with `proto` icmp / ipv6-icmp. */
  readonly icmpType?: string;
  /** Only for this IP version (a macro that exists for one version only, `DHCPv6`). Absent: both. */
  readonly ipVersion?: 4 | 6;
}

/**
 * One firewalled NIC of a guest: the bridge port its traffic passes (`tap100i0`,
 * `veth101i0`) and the source checks Proxmox's `macfilter` / `ipfilter` options ask for.
 */
export interface FirewallGuestNic {
  /** The guest's NIC key (`net0`), as rules name it in `iface`. */
  readonly iface: string;
  /** The bridge port (an interface name of at most 15 bytes). */
  readonly port: string;
  /** When set, frames from the guest with another source MAC are dropped (`macfilter`). */
  readonly mac?: string;
  /**
   * When set, packets from the guest whose source address is not covered are dropped
   * (`ipfilter`): addresses, CIDRs or `a-b` ranges, IPv4 and IPv6. An empty list drops every
   * IP packet from the NIC.
   */
  readonly ipfilter?: readonly string[];
}

/** The rules of one guest. */
export interface FirewallGuestRuleset {
  readonly vmid: number;
  readonly enabled: boolean;
  /** Bridge ports (tap names) the rules apply to. Ignored when `nics` is given. */
  readonly ports: readonly string[];
  readonly rules: readonly FirewallRule[];
  readonly policyIn: FirewallAction;
  readonly policyOut: FirewallAction;
  /**
   * The guest's NICs with their ports (optional). Without it each of `ports` is a NIC whose key
   * is read from the port name (`tap100i1` is `net1`).
   */
  readonly nics?: readonly FirewallGuestNic[];
  /** Log level of packets the IN policy drops or rejects (`log_level_in`). Default `nolog`. */
  readonly logLevelIn?: FirewallLogLevel;
  /** Log level of packets the OUT policy drops or rejects (`log_level_out`). Default `nolog`. */
  readonly logLevelOut?: FirewallLogLevel;
  /** Accept DHCP (v4 and v6) to and from the guest before its rules (`dhcp`). Default true, as Proxmox. */
  readonly dhcp?: boolean;
  /** Accept IPv6 neighbor discovery and router solicitation before its rules (`ndp`). Default true. */
  readonly ndp?: boolean;
  /** Allow the guest to send IPv6 router advertisements (`radv`). Default false: they are dropped. */
  readonly radv?: boolean;
}

/** A whole rule set for one node: cluster, host and guest scopes, ipsets and aliases. */
export interface FirewallRuleset {
  readonly enabled: boolean;
  readonly policyIn: FirewallAction;
  readonly policyOut: FirewallAction;
  readonly hostRules: readonly FirewallRule[];
  /** Rules per guest id, with the bridge ports (tap names) they apply to. */
  readonly guests: readonly FirewallGuestRuleset[];
  readonly groups: Readonly<Record<string, readonly FirewallRule[]>>;
  /**
   * Named address sets (`+name`): addresses, CIDRs or ranges; a `!` prefix marks a `nomatch`
   * entry (an exception: the most specific entry covering an address decides, as in ipset).
   */
  readonly ipsets: Readonly<Record<string, readonly string[]>>;
  readonly aliases: Readonly<Record<string, string>>;
  /** nflog group that logged packets go to. Default 0 (Proxmox's `pvefw-logger` listens there). */
  readonly logGroup?: number;
  /** Log level of packets the host's IN policy drops or rejects. Default `nolog`. */
  readonly logLevelIn?: FirewallLogLevel;
  /** Log level of packets the host's OUT policy drops or rejects. Default `nolog`. */
  readonly logLevelOut?: FirewallLogLevel;
  /** Accept IPv6 neighbor discovery to and from the host before its rules (`host.fw` `ndp`). Default true. */
  readonly ndp?: boolean;
  /** Let packets conntrack calls invalid go on to the rules instead of dropping them (`nf_conntrack_allow_invalid`). Default false. */
  readonly allowInvalid?: boolean;
}

/** What a backend gets with every call. */
export interface FirewallContext {
  readonly node: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Network namespace to operate in (tests); undefined = the host's. */
  readonly netns?: string;
  readonly signal?: AbortSignal;
}

/** A firewall backend. `apply` replaces the whole rule set in one atomic transaction. */
export interface FirewallBackend {
  /** Backend id (`nftables`). */
  readonly id: string;
  /** Compiles without applying (for `showcmd`-like inspection and tests). Throws `InvalidConfigError`. */
  compile(ruleset: FirewallRuleset): string;
  /** Applies atomically: either the whole new rule set is active, or the old one still is. */
  apply(ctx: FirewallContext, ruleset: FirewallRuleset): Promise<void>;
  /** Removes everything the backend installed. */
  clear(ctx: FirewallContext): Promise<void>;
  /**
   * Optional: applies only guest `vmid`'s part of `ruleset` (its chains, ports and map
   * entries; absent from `ruleset`: removes them), in one atomic transaction that leaves every
   * other guest's chains untouched. Falls back to {@link FirewallBackend.apply} when nothing of
   * the backend is installed yet. Absent on a backend: callers use `apply`.
   */
  applyGuest?(ctx: FirewallContext, ruleset: FirewallRuleset, vmid: number): Promise<void>;
}
