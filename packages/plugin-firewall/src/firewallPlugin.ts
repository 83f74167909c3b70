import { coreServices, definePlugin, extensionPoints, type CorralPlugin } from '@corral/core';
import { NftablesBackend } from './nft/NftablesBackend.js';
import { firewallNicHook } from './service/firewallNicHook.js';
import { FirewallService, firewallServiceRef } from './service/FirewallService.js';

/** Options of {@link createFirewallPlugin}. */
export interface FirewallPluginOptions {
  /** Network namespace the rules go to (tests); default the host's. */
  readonly netns?: string;
  /** The cluster network (CIDR) for the implicit `management` ipset. */
  readonly localNetwork?: string;
}

/**
 * Makes plugin `firewall`: Proxmox's `.fw` rules compiled to nftables. Provides the firewall
 * backend `nftables` ({@link NftablesBackend}), the service {@link firewallServiceRef} (reload,
 * compile-only) reading `firewall/cluster.fw`, `nodes/<node>/host.fw` and `firewall/<vmid>.fw`
 * from the kernel's config store, and the NIC plug hook `firewall` that applies a guest's rules
 * when its `firewall=1` NIC is plugged and removes them when it is unplugged. Each kernel gets
 * its own instances.
 */
export function createFirewallPlugin(options: FirewallPluginOptions = {}): CorralPlugin {
  return definePlugin({
    id: 'firewall',
    apiVersion: 3,
    register(env) {
      const backend = new NftablesBackend();
      env.extend(extensionPoints.firewallBackends, 'nftables', backend);
      const service = new FirewallService({
        node: env.node,
        config: env.get(coreServices.configStore),
        runner: env.get(coreServices.commandRunner),
        backend,
        log: env.logger,
        ...options,
      });
      env.provide(firewallServiceRef, { value: service });
      env.extend(extensionPoints.nicPlugHooks, 'firewall', firewallNicHook(service));
    },
  });
}

/**
 * Plugin `firewall` with default options (see {@link createFirewallPlugin}).
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [firewallPlugin] });
 * await kernel.get(firewallServiceRef).reload();
 * ```
 */
export const firewallPlugin: CorralPlugin = createFirewallPlugin();
