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
  readonly log?: 'nolog' | 'info' | 'warning' | 'err';
  readonly comment?: string;
  /** True when `action` names a security group. */
  readonly group?: boolean;
}

/** A whole rule set for one node: cluster, host and guest scopes, ipsets and aliases. */
export interface FirewallRuleset {
  readonly enabled: boolean;
  readonly policyIn: FirewallAction;
  readonly policyOut: FirewallAction;
  readonly hostRules: readonly FirewallRule[];
  /** Rules per guest id, with the bridge ports (tap names) they apply to. */
  readonly guests: ReadonlyArray<{ vmid: number; enabled: boolean; ports: readonly string[]; rules: readonly FirewallRule[]; policyIn: FirewallAction; policyOut: FirewallAction }>;
  readonly groups: Readonly<Record<string, readonly FirewallRule[]>>;
  /** Named address sets (`+name`), CIDRs; `!` prefix for exclusions. */
  readonly ipsets: Readonly<Record<string, readonly string[]>>;
  readonly aliases: Readonly<Record<string, string>>;
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
}
