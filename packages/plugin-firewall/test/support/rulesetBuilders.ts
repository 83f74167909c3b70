/** Short builders for the rule sets the tests compile and apply. */
import type { FirewallGuestRuleset, FirewallRule, FirewallRuleset } from '@corral/core';

/** An enabled rule. */
export const rule = (direction: FirewallRule['direction'], action: string, more: Partial<FirewallRule> = {}): FirewallRule => ({ direction, action, enabled: true, ...more });

/** An enabled guest on port `tap<vmid>i0`, IN policy DROP, OUT policy ACCEPT. */
export const guest = (vmid: number, rules: FirewallRule[], more: Partial<FirewallGuestRuleset> = {}): FirewallGuestRuleset => ({
  vmid,
  enabled: true,
  ports: [`tap${vmid}i0`],
  rules,
  policyIn: 'DROP',
  policyOut: 'ACCEPT',
  ...more,
});

/** An enabled rule set with host policies ACCEPT and nothing else but `guests` and `more`. */
export const ruleset = (guests: FirewallGuestRuleset[] = [], more: Partial<FirewallRuleset> = {}): FirewallRuleset => ({
  enabled: true,
  policyIn: 'ACCEPT',
  policyOut: 'ACCEPT',
  hostRules: [],
  groups: {},
  ipsets: {},
  aliases: {},
  guests,
  ...more,
});
