import type { NicPlugHook } from '@corral/core';
import type { FirewallService } from './FirewallService.js';

/**
 * The firewall's NIC plug hook: after a NIC with `firewall=1` is plugged its guest's rules are
 * applied ({@link FirewallService.nicPlugged}; a failure fails the plug, which core undoes);
 * after an unplug (or the undo of a failed plug) they are removed with the guest's last NIC.
 */
export function firewallNicHook(service: FirewallService): NicPlugHook {
  return {
    afterPlug: (ctx, nic) => service.nicPlugged(nic, ctx.log, ctx.signal),
    afterUnplug: (ctx, nic) => service.nicUnplugged(nic, ctx.log, ctx.signal),
  };
}
